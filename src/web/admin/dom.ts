import { element } from '../dom.ts'

export { byId, element } from '../dom.ts'

/** A table cell with text. */
export function cell (text: string, className?: string): HTMLTableCellElement {
  return element('td', className, text)
}

/**
 * A button whose accessible name adds what it acts on ("Delete" + " message 3"), so a screen
 * reader's list of buttons tells the rows apart while the eye sees one short word.
 */
export function actionButton (label: string, target: string, onClick: () => void, className = 'quiet'): HTMLButtonElement {
  const button = element('button', className, label)
  button.type = 'button'
  button.append(element('span', 'visually-hidden', ` ${target}`))
  button.addEventListener('click', onClick)
  return button
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' })

/** A `<time>` element showing an ISO 8601 instant in the reader's locale. */
export function timeElement (iso: string): HTMLTimeElement {
  const time = element('time', undefined, timeFormat.format(new Date(iso)))
  time.dateTime = iso
  return time
}
