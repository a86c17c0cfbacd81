import assert from 'node:assert/strict'
import { connectAs, eventually, http, type TestClient } from '../helper.ts'
import { engineTest } from '../engines.ts'
import { type ReceivedEvent, startReceiver, webhookConfig } from './receiver.ts'

const ROOMS = ['r1', 'r2', 'r3', 'r4']

/** Sends `count` messages to each room, interleaved, from one client per room, all at once. */
async function busyRooms (t: Parameters<typeof connectAs>[0], server: Parameters<typeof connectAs>[1], count: number): Promise<Map<string, string[]>> {
  const senders: [string, TestClient][] = await Promise.all(ROOMS.map(async (room) => {
    const client = await connectAs(t, server, `u-${room}`)
    await client.join(room)
    return [room, client] as [string, TestClient]
  }))
  const acks = await Promise.all(senders.map(async ([room, client]) => {
    const pending = Array.from({ length: count }, (_, i) => client.request({ type: 'message', room, text: `${room} #${i + 1}` }))
    return [room, (await Promise.all(pending)).map((ack) => ack.id as string)] as const
  }))
  return new Map(acks)
}

/** The messages of each room as delivered (first arrival of each id), in arrival order. */
function messagesByRoom (events: ReceivedEvent[]): Map<string, string[]> {
  const seen = new Set<string>()
  const rooms = new Map<string, string[]>()
  for (const event of events) {
    if (event.type !== 'message.created' || seen.has(event.id)) continue
    seen.add(event.id)
    rooms.set(event.room, [...(rooms.get(event.room) ?? []), event.data.id])
  }
  return rooms
}

engineTest('each room\'s events arrive in order while several rooms are busy, each once when nothing fails', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created', CHAT_MSG_RATE: 1000 }))
  const sent = await busyRooms(t, server, 25)
  await receiver.waitFor(ROOMS.length * 25)
  assert.deepEqual(messagesByRoom(receiver.delivered), sent)
  assert.equal(receiver.requests.length, ROOMS.length * 25, 'no duplicate without a failure')
  for (const room of ROOMS) {
    const seqs = receiver.delivered.filter((event) => event.room === room).map((event) => event.data.seq)
    assert.deepEqual(seqs, Array.from({ length: 25 }, (_, i) => i + 1), `${room} in seq order`)
  }
  receiver.assertAllValid()
})

engineTest('a receiver that answers 500, then one that is down, gets every event once it recovers; duplicates share an id', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created', CHAT_WEBHOOK_MAX_ATTEMPTS: 20, CHAT_MSG_RATE: 1000 }))
  let failing = true
  receiver.answer = () => (failing ? 500 : 204)
  const first = await busyRooms(t, server, 5)
  await eventually(() => receiver.requests.length >= ROOMS.length * 2, 10_000, 'attempts answered 500')
  failing = false
  await receiver.waitFor(ROOMS.length * 5)
  assert.deepEqual(messagesByRoom(receiver.delivered), first)

  // Down: the port is closed, so attempts fail to connect.
  await receiver.stop()
  const alice = await connectAs(t, server, 'alice')
  await alice.join('r1')
  const more: string[] = []
  for (let i = 0; i < 5; i++) more.push((await alice.request({ type: 'message', room: 'r1', text: `while down ${i}` })).id)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await receiver.start()
  await receiver.waitFor(ROOMS.length * 5 + 5)
  assert.deepEqual(messagesByRoom(receiver.delivered).get('r1'), [...first.get('r1')!, ...more])

  // Every request carried an event that was sent before; only failed ones were sent again.
  const answered = new Map<string, (number | 'hang')[]>()
  for (const request of receiver.requests) answered.set(request.event.id, [...(answered.get(request.event.id) ?? []), request.answered])
  for (const [id, answers] of answered) {
    assert.deepEqual(answers.slice(0, -1).filter((answer) => answer === 204), [], `${id} was sent again only after a failure`)
    assert.equal(answers.at(-1), 204, `${id} was answered 2xx in the end`)
  }
  assert.equal(receiver.delivered.length, ROOMS.length * 5 + 5, 'each event delivered once')
  receiver.assertAllValid()
}, { timeout: 90_000 })

engineTest('after the last attempt an event is parked and its room goes on; a retry through REST sends it again', async (start, t) => {
  const receiver = await startReceiver(t)
  const other = await startReceiver(t)
  const server = await start(webhookConfig([receiver, other], { CHAT_WEBHOOK_EVENTS: 'message.created', CHAT_WEBHOOK_MAX_ATTEMPTS: 2 }))
  receiver.answer = (event) => (event.data.text === 'poison' ? 503 : 204)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const poison = await alice.request({ type: 'message', room: 'lobby', text: 'poison' })
  const after = await alice.request({ type: 'message', room: 'lobby', text: 'after' })
  await receiver.waitFor(1)
  assert.deepEqual(receiver.delivered.map((event) => event.data.id), [after.id], 'the room went on past the parked event')
  await other.waitFor(2)
  assert.deepEqual(other.delivered.map((event) => event.data.id), [poison.id, after.id], 'the other URL got both')
  assert.equal(receiver.requests.filter((request) => request.event.data.id === poison.id).length, 2, 'CHAT_WEBHOOK_MAX_ATTEMPTS attempts')

  let failed!: Awaited<ReturnType<typeof http>>
  await eventually(async () => {
    failed = await http(server.url, 'GET', '/webhooks/failed')
    return failed.body.events.length === 1
  }, 5000, 'the event listed as failed')
  const eventId = receiver.requests.find((request) => request.event.data.id === poison.id)!.event.id
  assert.deepEqual(failed.body, {
    events: [{ id: eventId, type: 'message.created', room: 'lobby', url: receiver.url, attempts: 2, lastError: 'HTTP 503' }]
  })

  assert.equal((await http(server.url, 'POST', '/webhooks/failed/no-such-event/retry')).status, 404)
  receiver.answer = () => 204
  assert.equal((await http(server.url, 'POST', `/webhooks/failed/${eventId}/retry`)).status, 202)
  assert.deepEqual((await http(server.url, 'GET', '/webhooks/failed')).body, { events: [] }, 'it left the list')
  await receiver.waitFor(2)
  assert.deepEqual(receiver.delivered.map((event) => event.id)[1], eventId, 'sent again with its id')
  assert.equal((await http(server.url, 'POST', `/webhooks/failed/${eventId}/retry`)).status, 404)
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.equal(other.delivered.length, 2, 'the URL that had it got it once')
  receiver.assertAllValid()
})

engineTest('an attempt with no answer within 5 s fails and is retried; chat goes on meanwhile', async (start, t) => {
  const receiver = await startReceiver(t)
  const server = await start(webhookConfig([receiver], { CHAT_WEBHOOK_EVENTS: 'message.created', CHAT_WEBHOOK_MAX_ATTEMPTS: 3 }))
  let hang = true
  receiver.answer = () => (hang ? 'hang' : 204)
  const alice = await connectAs(t, server, 'alice')
  await alice.join('lobby')
  const first = await alice.request({ type: 'message', room: 'lobby', text: 'first' })
  await eventually(() => receiver.requests.length === 1, 5000, 'the first attempt')
  // The receiver hangs: chat is answered as ever.
  const second = await alice.request({ type: 'message', room: 'lobby', text: 'second' })
  assert.equal(second.seq, 2)
  hang = false
  await receiver.waitFor(2, undefined, 30_000)
  assert.deepEqual(receiver.delivered.map((event) => event.data.id), [first.id, second.id])
  assert.equal(receiver.requests[0]!.answered, 'hang')
  assert.equal(receiver.requests[0]!.event.id, receiver.delivered[0]!.id, 'the retry is the same event')
}, { timeout: 60_000 })
