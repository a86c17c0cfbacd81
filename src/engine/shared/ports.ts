import type { StorageExtension } from '../extension.ts'

/** An engine's `port`: the features' stores it built when it started, by extension. */
export function portOf (ports: ReadonlyMap<StorageExtension, unknown>): <P>(extension: StorageExtension<P>) => P {
  return <P>(extension: StorageExtension<P>) => {
    if (!ports.has(extension)) throw new Error(`the storage of ${extension.name} was not given to the engine`)
    return ports.get(extension) as P
  }
}
