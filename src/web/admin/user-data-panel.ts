import type { AdminApi, UserExport } from './api.ts'
import { confirmAction } from './confirm.ts'
import { byId } from './dom.ts'
import type { Feedback } from './feedback.ts'

/**
 * A user's data, for an operator answering the user: its export (saved as a JSON file, with a
 * summary shown) and the deletion of every message it wrote, after a confirmation.
 */
export function userDataPanel (api: AdminApi, feedback: Feedback) {
  const ui = {
    form: byId<HTMLFormElement>('user-form'),
    user: byId<HTMLInputElement>('user-id'),
    erase: byId<HTMLButtonElement>('delete-user-messages'),
    summary: byId('user-summary')
  }

  function summarize (data: UserExport): string {
    const live = data.messages.filter((message) => (message as { deleted?: boolean }).deleted !== true).length
    return `${data.user}: ${live} message${live === 1 ? '' : 's'} (${data.messages.length - live} deleted), read state in ${data.readState.length} room${data.readState.length === 1 ? '' : 's'}, ` +
      `${data.grants.length} grant${data.grants.length === 1 ? '' : 's'}, ${data.roles.length} role${data.roles.length === 1 ? '' : 's'}.`
  }

  /** Saves the export as <user>.json through a link the page clicks. */
  function save (data: UserExport): void {
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }))
    const link = document.createElement('a')
    link.href = url
    link.download = `${data.user}.json`
    link.click()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }

  ui.form.addEventListener('submit', (event) => {
    event.preventDefault()
    const user = ui.user.value.trim()
    api.exportUser(user).then((data) => {
      ui.summary.hidden = false
      ui.summary.textContent = summarize(data)
      save(data)
      feedback.say(`Exported the data of ${user}`)
    }, (err: unknown) => feedback.fail(`Could not export the data of ${user}`, err))
  })

  ui.erase.addEventListener('click', () => {
    if (!ui.user.reportValidity()) return
    const user = ui.user.value.trim()
    void confirmAction(`Delete every message of ${user}?`, `Every retained message ${user} wrote becomes a tombstone, in every room, for everyone. This cannot be undone.`, 'Delete messages')
      .then(async (confirmed) => {
        if (!confirmed) return
        try {
          await api.deleteUserMessages(user)
          ui.summary.hidden = false
          ui.summary.textContent = `${user}: every message deleted.`
          feedback.say(`Deleted every message of ${user}`)
        } catch (err) {
          feedback.fail(`Could not delete the messages of ${user}`, err)
        }
      })
  })
}
