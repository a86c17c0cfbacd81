/** DOM helpers both pages use. */

/** The element with this id; the page's HTML has it, so a missing one is a bug worth a loud error. */
export function byId<T extends HTMLElement = HTMLElement> (id: string): T {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`#${id} is missing from the page`)
  return found as T
}

/** A new element with optional class and text (always as text, never as markup). */
export function element<K extends keyof HTMLElementTagNameMap> (tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (className !== undefined) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}
