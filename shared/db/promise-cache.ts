/**
 * Caches a lazily created value as a promise, dropping it when it rejects: a failure is never
 * remembered, the next call tries again.
 */
export class PromiseCache<T> {
  private readonly entries = new Map<string, Promise<T>>();

  get(key: string, create: () => Promise<T>): Promise<T> {
    let p = this.entries.get(key);
    if (!p) {
      p = create();
      const mine = p;
      mine.catch(() => {
        if (this.entries.get(key) === mine) this.entries.delete(key);
      });
      this.entries.set(key, p);
    }
    return p;
  }

  delete(key: string): Promise<T> | undefined {
    const p = this.entries.get(key);
    this.entries.delete(key);
    return p;
  }

  drain(): Promise<T>[] {
    const all = [...this.entries.values()];
    this.entries.clear();
    return all;
  }
}
