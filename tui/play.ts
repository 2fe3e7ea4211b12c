// The play loop: steps forward at a chosen speed until the end or any key.
// Every frame yields to the event loop (setTimeout / setImmediate) before the
// next one, so blessed's queued work and the input get their turn and memory
// stays flat however long it plays.

export const DEFAULT_SPEED = 10;
const FRAME_MS = 16;

export class Player {
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  playing = false;
  speed = DEFAULT_SPEED;
  frames = 0;

  /**
   * speed: steps per second; 0 = one step per frame, as fast as frames draw.
   * step(k) advances k steps and draws; it returns false at the end.
   */
  start(speed: number, step: (k: number) => boolean, onStop: () => void): void {
    this.stop();
    this.speed = speed;
    this.playing = true;
    this.frames = 0;
    const interval = speed === 0 ? 0 : Math.max(FRAME_MS, 1000 / speed);
    const perFrame = speed === 0 ? 1 : Math.max(1, Math.round((speed * interval) / 1000));
    const frame = (): void => {
      this.timer = null;
      if (!this.playing) return;
      this.frames++;
      if (!step(perFrame)) { this.stop(); onStop(); return; }
      this.timer = interval === 0 ? setImmediate(frame) : setTimeout(frame, interval);
    };
    this.timer = interval === 0 ? setImmediate(frame) : setTimeout(frame, interval);
  }

  stop(): void {
    this.playing = false;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
  }
}
