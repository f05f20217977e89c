// Collects items between animation frames and hands them over once per frame, so a
// burst of events (1,000 running workflows, a replay) becomes one render, not one each.

export class FrameBatch<T> {
  private items: T[] = [];
  private frame = 0;

  constructor(private readonly flush: (items: T[]) => void) {}

  push(item: T): void {
    this.items.push(item);
    if (!this.frame) this.frame = requestAnimationFrame(this.run);
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.items = [];
  }

  private readonly run = (): void => {
    this.frame = 0;
    const items = this.items;
    this.items = [];
    if (items.length) this.flush(items);
  };
}
