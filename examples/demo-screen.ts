/**
 * Where the demo's lines go: straight to stdout, or above the live status while one is on screen.
 */
import { LiveStatus, type StatusFrame } from './demo-display'

/**
 * The demo's stdout with at most one live status on it. A line printed while a status is shown must go
 * through that status (`announce`), or its next redraw garbles the line.
 *
 * @example
 * const screen = new DemoScreen(process.stdout)
 * screen.showStatus(() => ({ lines: [`sent ${n}`], compact: `sent ${n}` }))
 * screen.announce('Stopping...') // above the status
 * screen.endStatus()
 */
export class DemoScreen {
  readonly #out: NodeJS.WriteStream
  #status: LiveStatus | undefined

  constructor(out: NodeJS.WriteStream) {
    this.#out = out
  }

  /** A line for a moment when no status is shown. */
  say(line = ''): void {
    this.#out.write(line + '\n')
  }

  /** A line that may come at any moment (a signal, a drain): above the status if one is shown. */
  announce(line: string): void {
    if (this.#status !== undefined) this.#status.print(line)
    else this.say(line)
  }

  /** Starts a live status drawn from `render`, shown until {@link endStatus}. */
  showStatus(render: () => StatusFrame): void {
    const status = new LiveStatus(this.#out, render)
    status.start()
    this.#status = status
  }

  /** Stops the status shown, if any (see `LiveStatus.stop` for `final`); lines go straight to stdout again. */
  endStatus(options: { final?: boolean } = {}): void {
    this.#status?.stop(options)
    this.#status = undefined
  }
}
