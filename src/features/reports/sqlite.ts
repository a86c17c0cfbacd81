import type { LocalStorage } from '../../engine/local/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { Reported, ReportRecord, ReportsStore } from './store.ts'

const MIGRATIONS = [
  `
  CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    message TEXT NOT NULL,
    reporter TEXT NOT NULL,
    reason TEXT,
    time TEXT NOT NULL
  );
  `
]

interface Row { id: string, room: string, seq: number, message: string, reporter: string, reason: string | null, time: string }
const toRecord = (row: Row): ReportRecord => ({ ...row, message: JSON.parse(row.message) as Message })

/** Reports on SQLite: the report and its `message.reported` event in one transaction. */
export function sqliteReports (storage: LocalStorage): ReportsStore {
  const { db, messages } = storage
  storage.migrate('reports', MIGRATIONS)
  const statements = {
    add: db.prepare<[string, string, number, string, string, string | null, string]>('INSERT INTO reports (id, room, seq, message, reporter, reason, time) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    open: db.prepare<[number], Row>('SELECT * FROM reports ORDER BY rowid LIMIT ?'),
    get: db.prepare<[string], Row>('SELECT * FROM reports WHERE id = ?'),
    close: db.prepare<[string]>('DELETE FROM reports WHERE id = ?')
  }
  const add = db.transaction((room: string, seq: number, reporter: string, reason: string | null, id: string, time: string): Reported => {
    const message = messages.get(room, seq) as (Message & { deleted?: boolean }) | undefined
    if (message === undefined || message.deleted === true) return { outcome: 'not_found' }
    statements.add.run(id, room, seq, JSON.stringify(message), reporter, reason, time)
    storage.record('message.reported', room, time, { id, seq, reporter, reason })
    return { outcome: 'reported', report: { id, room, seq, message, reporter, reason, time } }
  })
  return {
    async add (room, seq, reporter, reason, id, time) {
      return add(room, seq, reporter, reason, id, time)
    },
    async open (limit) {
      return statements.open.all(limit).map(toRecord)
    },
    async get (id) {
      const row = statements.get.get(id)
      return row === undefined ? undefined : toRecord(row)
    },
    async close (id) {
      statements.close.run(id)
    }
  }
}
