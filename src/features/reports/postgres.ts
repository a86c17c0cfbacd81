import type { PostgresStorage } from '../../engine/postgres/storage.ts'
import type { Message } from '../../schemas/common.ts'
import type { ReportRecord, ReportsStore } from './store.ts'

// `position` keeps the order of arrival that SQLite's rowid gives the queue.
const MIGRATIONS = [
  `
  CREATE TABLE reports (
    id text PRIMARY KEY,
    position bigserial NOT NULL,
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    message jsonb NOT NULL,
    reporter text NOT NULL,
    reason text,
    time text NOT NULL
  );
  CREATE INDEX reports_by_position ON reports (position);
  `
]

const COLUMNS = 'id, room, seq, message, reporter, reason, time'

/** Reports on PostgreSQL: the report and its `message.reported` event in one transaction. */
export function postgresReports (storage: PostgresStorage): ReportsStore {
  const { sql, messages } = storage
  storage.migrate('reports', MIGRATIONS)
  return {
    async add (room, seq, reporter, reason, id, time) {
      return await storage.inRoom(room, async (tx) => {
        const message = await messages.get(tx, room, seq) as (Message & { deleted?: boolean }) | undefined
        if (message === undefined || message.deleted === true) return { outcome: 'not_found' as const }
        await tx.query(`INSERT INTO reports (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [id, room, seq, JSON.stringify(message), reporter, reason, time])
        await storage.record(tx, 'message.reported', room, time, { id, seq, reporter, reason })
        return { outcome: 'reported' as const, report: { id, room, seq, message, reporter, reason, time } }
      })
    },
    async open (limit) {
      const { rows } = await sql.query<ReportRecord>(`SELECT ${COLUMNS} FROM reports ORDER BY position LIMIT $1`, [limit])
      return rows
    },
    async get (id) {
      const { rows } = await sql.query<ReportRecord>(`SELECT ${COLUMNS} FROM reports WHERE id = $1`, [id])
      return rows[0]
    },
    async close (id) {
      await sql.query('DELETE FROM reports WHERE id = $1', [id])
    }
  }
}
