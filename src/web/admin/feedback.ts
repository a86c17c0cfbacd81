import { ApiError, describeError } from './api.ts'
import { byId } from './dom.ts'

export type Feedback = ReturnType<typeof feedback>

/**
 * What the page tells its user: outcomes in a polite live region, failures in an alert. A
 * refused token is left to the token form, which says it where the token is typed.
 */
export function feedback () {
  const status = byId('status')
  const alert = byId('alert')
  return {
    say (text: string): void {
      alert.textContent = ''
      status.textContent = text
    },
    fail (what: string, err: unknown): void {
      if (err instanceof ApiError && err.status === 401) return
      status.textContent = ''
      alert.textContent = `${what}: ${describeError(err)}`
    },
    clear (): void {
      status.textContent = ''
      alert.textContent = ''
    }
  }
}
