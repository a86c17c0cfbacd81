// A front-end project that uses the SDK alone: `fastify-chat/client` has no Node-only import,
// so a bundler makes it part of the page (npm run build: esbuild, into public/app.js).
import { ChatClient } from 'fastify-chat/client'

const log = document.querySelector('#log')
const form = document.querySelector('form')
const chat = new ChatClient({ url: document.querySelector('meta[name="chat-url"]').content, user: 'web-user' })

chat.on('message', (message) => {
  const line = document.createElement('li')
  line.textContent = `${message.user}: ${message.text}`
  log.append(line)
})
chat.on('state', (state) => { document.querySelector('#state').textContent = state })

await chat.connect()
await chat.join('lobby')
form.addEventListener('submit', (event) => {
  event.preventDefault()
  const input = form.elements.text
  chat.send('lobby', input.value).catch((err) => { document.querySelector('#state').textContent = `not sent: ${err.message}` })
  input.value = ''
})
