/** A listener of one event: gets that event's payload. */
export type Listener<T> = (payload: T) => void

/**
 * A small typed event emitter, written here because the client must carry no runtime
 * dependency and run in browsers and Node alike (Node's EventEmitter is Node-only, and
 * EventTarget has no typed payloads). A listener that throws does not stop the others or
 * the client: its error is rethrown on a fresh task, where the host reports it.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>()

  /** Calls `listener` on every `event`; returns a function that removes it. */
  on<K extends keyof Events> (event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event)
    if (set === undefined) this.listeners.set(event, set = new Set())
    set.add(listener)
    return () => this.off(event, listener)
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof Events> (event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off()
      listener(payload)
    })
    return off
  }

  off<K extends keyof Events> (event: K, listener: Listener<Events[K]>): void {
    this.listeners.get(event)?.delete(listener)
  }

  protected emit<K extends keyof Events> (event: K, payload: Events[K]): void {
    const set = this.listeners.get(event) as Set<Listener<Events[K]>> | undefined
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        listener(payload)
      } catch (err) {
        setTimeout(() => { throw err }, 0)
      }
    }
  }
}
