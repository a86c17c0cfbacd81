import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import * as wsModule from 'ws'
import { frameText } from '../../src/hub/framing.ts'

interface FrameOptions { fin: boolean, rsv1: boolean, opcode: number, mask: boolean, readOnly: boolean }
const { Sender, Receiver } = wsModule as unknown as {
  Sender: { frame: (data: Buffer, options: FrameOptions) => Buffer[] }
  Receiver: new (options: { isServer: boolean, maxPayload: number }) => NodeJS.WritableStream & {
    on: (event: 'message', listener: (data: Buffer, isBinary: boolean) => void) => void
  }
}

/** What ws itself makes of a text message sent by a server. */
const wsFrame = (text: string) => Buffer.concat(Sender.frame(Buffer.from(text), {
  fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true
}))

test('frameText makes the bytes ws makes, at every length class (7, 16 and 64-bit lengths)', () => {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const text = 'x'.repeat(length)
    assert.deepEqual(frameText(text), wsFrame(text), `length ${length}`)
  }
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
    assert.deepEqual(frameText(text), wsFrame(text))
  }), { seed: 7, numRuns: 300 })
})

test('a client receiver reads frameText frames back as the same text', async () => {
  const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 })
  const texts = ['hello', '{"type":"message","text":"é 😀"}', 'y'.repeat(200), 'z'.repeat(70_000)]
  const received: string[] = []
  receiver.on('message', (data, isBinary) => {
    assert.equal(isBinary, false)
    received.push(data.toString())
  })
  for (const text of texts) receiver.write(frameText(text))
  assert.deepEqual(received, texts)
})
