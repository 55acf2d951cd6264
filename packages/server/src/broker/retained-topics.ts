/**
 * Retained messages indexed by topic level, so a new subscription finds its retained messages by walking its
 * filter (a map lookup per level; a wildcard visits only the branches it matches) instead of testing every
 * retained topic. Aedes' in-memory store scans them all for each filter: when a fleet reconnects, each robot
 * retaining its status, that is robots × filters × retained messages (1,000 robots subscribing to two topics
 * with 1,000 statuses retained: 2 million topic tests, about a millisecond of event loop per robot).
 *
 * Matching follows MQTT 3.1.1 §4.7: `+` matches exactly one level, an empty one included; `#` (last) matches
 * the parent level and every level below; a filter starting with a wildcard matches no topic starting with
 * `$` (MQTT-4.7.2-1).
 */
interface Level<T> {
  children: Map<string, Level<T>> | undefined;
  value: T | undefined;
}

const newLevel = <T>(): Level<T> => ({ children: undefined, value: undefined });

export class RetainedTopics<T> {
  private readonly root: Level<T> = newLevel();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Keeps `value` as the topic's retained message, replacing the previous one. */
  set(topic: string, value: T): void {
    let level = this.root;
    for (const word of topic.split('/')) {
      level.children ??= new Map();
      let next = level.children.get(word);
      if (!next) {
        next = newLevel();
        level.children.set(word, next);
      }
      level = next;
    }
    if (level.value === undefined) this.count++;
    level.value = value;
  }

  /** Forgets the topic's retained message; the levels nothing else uses go with it. */
  delete(topic: string): void {
    const path: Level<T>[] = [this.root];
    const words = topic.split('/');
    for (const word of words) {
      const next = path.at(-1)!.children?.get(word);
      if (!next) return;
      path.push(next);
    }
    const leaf = path.at(-1)!;
    if (leaf.value === undefined) return;
    leaf.value = undefined;
    this.count--;
    for (let i = words.length; i > 0; i--) {
      const level = path[i]!;
      if (level.value !== undefined || (level.children?.size ?? 0) > 0) break;
      path[i - 1]!.children!.delete(words[i - 1]!);
    }
  }

  get(topic: string): T | undefined {
    let level: Level<T> | undefined = this.root;
    for (const word of topic.split('/')) {
      level = level.children?.get(word);
      if (!level) return undefined;
    }
    return level.value;
  }

  /** The retained messages whose topics match any of `filters`, each once. */
  match(filters: readonly string[]): T[] {
    const found = new Set<T>();
    for (const filter of filters) {
      if (!filter.includes('+') && !filter.includes('#')) {
        const value = this.get(filter);
        if (value !== undefined) found.add(value);
      } else {
        this.walk(this.root, filter.split('/'), 0, found);
      }
    }
    return [...found];
  }

  private walk(level: Level<T>, words: readonly string[], i: number, found: Set<T>): void {
    if (i === words.length) {
      if (level.value !== undefined) found.add(level.value);
      return;
    }
    const word = words[i]!;
    if (word === '#') {
      // `sport/#` matches `sport` itself too.
      if (level.value !== undefined) found.add(level.value);
      for (const [name, child] of level.children ?? []) {
        if (i === 0 && name.startsWith('$')) continue;
        this.collect(child, found);
      }
      return;
    }
    if (word === '+') {
      for (const [name, child] of level.children ?? []) {
        if (i === 0 && name.startsWith('$')) continue;
        this.walk(child, words, i + 1, found);
      }
      return;
    }
    const child = level.children?.get(word);
    if (child) this.walk(child, words, i + 1, found);
  }

  private collect(level: Level<T>, found: Set<T>): void {
    if (level.value !== undefined) found.add(level.value);
    for (const child of level.children?.values() ?? []) this.collect(child, found);
  }
}
