import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { CLIENT_PROTOCOL_FILE, clientProtocol } from '../../scripts/client-protocol.ts'

test('the client SDK\'s protocol types are those the schemas make now (npm run generate writes them)', async () => {
  const committed = readFileSync(CLIENT_PROTOCOL_FILE, 'utf8')
  assert.equal(committed, await clientProtocol(), 'src/client/protocol.ts is out of date: run npm run generate')
  for (const name of ['Message', 'ClientFrame', 'ServerFrame', 'ErrorCode', 'JoinedFrame', 'UpdatedFrame', 'RoomUnread']) {
    assert.match(committed, new RegExp(`export (interface|type) ${name}\\b`), name)
  }
})
