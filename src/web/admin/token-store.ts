const KEY = 'chat.admin-token'

/**
 * The admin token, kept in this tab's sessionStorage only: it survives a reload and is gone
 * when the tab closes, and no other tab, cookie or request to another origin ever sees it.
 * Storage can be refused (privacy settings): the token then lives in memory until a reload.
 */
export function tokenStore () {
  let memory: string | undefined
  return {
    get (): string | undefined {
      try {
        return sessionStorage.getItem(KEY) ?? memory
      } catch {
        return memory
      }
    },
    set (token: string): void {
      memory = token
      try {
        sessionStorage.setItem(KEY, token)
      } catch {}
    },
    clear (): void {
      memory = undefined
      try {
        sessionStorage.removeItem(KEY)
      } catch {}
    }
  }
}
