import { byId } from './dom.ts'

/**
 * Asks before something that cannot be undone, in a modal `<dialog>`: it keeps focus inside,
 * Escape cancels, and focus goes back where it was when it closes. Resolves true when the
 * user confirmed.
 */
export function confirmAction (title: string, text: string, confirmLabel: string): Promise<boolean> {
  const dialog = byId<HTMLDialogElement>('confirm')
  byId('confirm-title').textContent = title
  byId('confirm-text').textContent = text
  const ok = byId<HTMLButtonElement>('confirm-ok')
  const cancel = byId<HTMLButtonElement>('confirm-cancel')
  ok.textContent = confirmLabel
  const returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : undefined
  return new Promise((resolve) => {
    const onOk = () => dialog.close('ok')
    const onCancel = () => dialog.close('cancel')
    dialog.addEventListener('close', () => {
      ok.removeEventListener('click', onOk)
      cancel.removeEventListener('click', onCancel)
      if (returnTo?.isConnected === true) returnTo.focus()
      resolve(dialog.returnValue === 'ok')
    }, { once: true })
    ok.addEventListener('click', onOk)
    cancel.addEventListener('click', onCancel)
    dialog.returnValue = ''
    dialog.showModal()
    cancel.focus()
  })
}
