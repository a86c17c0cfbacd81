import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isChatPage, notificationOf, roomUrl } from '../../src/web/chat/push-view.ts'

test('a push shows "<user> in <room>" with the text, one notification per room that knows its room', () => {
  const shown = notificationOf({ type: 'message', room: 'lobby', seq: 7, user: 'bob', text: 'hello @alice', mentions: ['alice'] })
  assert.equal(shown.title, 'bob in lobby')
  assert.deepEqual(shown.options, { body: 'hello @alice', tag: 'room:lobby', renotify: true, data: { room: 'lobby', seq: 7 } })

  // A push must show something (userVisibleOnly), even one the page cannot read.
  for (const payload of [undefined, null, 'text', { type: 'other' }, { type: 'message', room: 'lobby' }]) {
    const fallback = notificationOf(payload)
    assert.equal(fallback.title, 'New message', JSON.stringify(payload))
    assert.deepEqual(fallback.options.data, {})
  }
})

test('a click leads to the chat page of the worker\'s scope, at the room, and not to another page under it', () => {
  assert.equal(roomUrl('http://127.0.0.1:3000/', 'lobby'), 'http://127.0.0.1:3000/?room=lobby')
  assert.equal(roomUrl('https://example.com/chat/', 'a.b-c_d'), 'https://example.com/chat/?room=a.b-c_d')
  assert.equal(roomUrl('https://example.com/chat/'), 'https://example.com/chat/')

  const scope = 'https://example.com/chat/'
  assert.ok(isChatPage('https://example.com/chat/', scope))
  assert.ok(isChatPage('https://example.com/chat/?room=lobby#x', scope))
  assert.ok(isChatPage('https://example.com/chat/index.html', scope))
  assert.ok(!isChatPage('https://example.com/chat/admin/', scope), 'the admin page is in the scope but is not the chat')
  assert.ok(!isChatPage('https://other.example.com/chat/', scope))
})
