/**
 * Scheduled transitions (evaluations, activations, actions clearing, idle periods ending) in due
 * order: each evolution step pops what has fallen due instead of scanning every meter.
 */
/** A binary min-heap of (due second, meter) with lazy deletion: stale entries are skipped on pop. */
export class DueQueue {
  private times = new Float64Array(1024);
  private meters = new Int32Array(1024);
  size = 0;

  push(time: number, meter: number): void {
    if (this.size === this.times.length) {
      const t = new Float64Array(this.size * 2);
      t.set(this.times);
      this.times = t;
      const m = new Int32Array(this.size * 2);
      m.set(this.meters);
      this.meters = m;
    }
    let k = this.size++;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (this.times[parent] <= time) break;
      this.times[k] = this.times[parent];
      this.meters[k] = this.meters[parent];
      k = parent;
    }
    this.times[k] = time;
    this.meters[k] = meter;
  }

  peekTime(): number {
    return this.size > 0 ? this.times[0] : Infinity;
  }

  /** Removes the earliest entry and returns its meter. */
  pop(): number {
    const top = this.meters[0];
    const lastTime = this.times[--this.size];
    const lastMeter = this.meters[this.size];
    let k = 0;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && this.times[child + 1] < this.times[child]) child++;
      if (this.times[child] >= lastTime) break;
      this.times[k] = this.times[child];
      this.meters[k] = this.meters[child];
      k = child;
    }
    this.times[k] = lastTime;
    this.meters[k] = lastMeter;
    return top;
  }
}
