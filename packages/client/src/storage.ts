/**
 * Where the client keeps what must survive a page reload: the session's tokens, the outbox and
 * the catch-up cursor. `localStorage` fits as is; async stores (IndexedDB wrappers, files) too.
 */
export interface StorageAdapter {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** The default: nothing survives the process or page. */
export function memoryStorage(): StorageAdapter {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

export async function readJson<T>(storage: StorageAdapter, key: string): Promise<T | null> {
  const text = await storage.getItem(key);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export async function writeJson(storage: StorageAdapter, key: string, value: unknown) {
  if (value === null) await storage.removeItem(key);
  else await storage.setItem(key, JSON.stringify(value));
}
