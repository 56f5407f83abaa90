/**
 * The demo's terminal output: a status block redrawn in place on a terminal, one compact line now and then
 * anywhere else (CI logs, pipes), so that a long run never floods the screen or the log.
 */

/** What a status shows: the full block (terminal) and a one-line form (not a terminal). */
export interface StatusFrame {
  readonly lines: readonly string[]
  readonly compact: string
}

const ESC = '\x1b['
const TTY_REFRESH_MS = 250
const PLAIN_REFRESH_MS = 2_000

/**
 * A live status. On a TTY the block of lines is redrawn in place about 4 times a second (cursor hidden
 * meanwhile, lines cut to the terminal's width so that none wraps and breaks the redraw); elsewhere the
 * compact line is printed every 2 s. `print` puts a permanent line above the block.
 *
 * @example
 * const status = new LiveStatus(process.stdout, () => ({ lines: [`sent ${n}`], compact: `sent ${n}` }))
 * status.start()
 * // ...
 * status.stop() // leaves the last frame on screen
 */
export class LiveStatus {
  readonly #out: NodeJS.WriteStream
  readonly #render: () => StatusFrame
  readonly #tty: boolean
  #timer: NodeJS.Timeout | undefined
  #drawn = 0

  constructor(out: NodeJS.WriteStream, render: () => StatusFrame) {
    this.#out = out
    this.#render = render
    this.#tty = out.isTTY === true && process.env.TERM !== 'dumb'
  }

  /** True when redrawing in place. */
  get live(): boolean {
    return this.#tty
  }

  start(): void {
    if (this.#timer !== undefined) return
    if (this.#tty) {
      this.#out.write(`${ESC}?25l`)
      process.once('exit', showCursor)
      this.#draw()
    }
    this.#timer = setInterval(() => (this.#tty ? this.#draw() : this.#out.write(this.#render().compact + '\n')), this.#tty ? TTY_REFRESH_MS : PLAIN_REFRESH_MS)
    this.#timer.unref()
  }

  /** A permanent line, above the live block. */
  print(line: string): void {
    if (!this.#tty) return void this.#out.write(line + '\n')
    this.#erase()
    this.#out.write(line + '\n')
    if (this.#timer !== undefined) this.#draw()
  }

  /** Stops refreshing. On a TTY the last frame stays on screen; elsewhere `final` (if any) is printed. */
  stop(options: { final?: boolean } = {}): void {
    if (this.#timer === undefined) return
    clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#tty) {
      this.#draw()
      this.#drawn = 0
      this.#out.write(`${ESC}?25h`)
      process.removeListener('exit', showCursor)
    } else if (options.final === true) {
      this.#out.write(this.#render().compact + '\n')
    }
  }

  #draw(): void {
    let frame: StatusFrame
    try {
      frame = this.#render()
    } catch (error) {
      frame = { lines: [`(status unavailable: ${(error as Error).message})`], compact: '' }
    }
    const width = Math.max(20, (this.#out.columns || 100) - 1)
    let text = this.#drawn > 0 ? `${ESC}${this.#drawn}F` : ''
    for (const line of frame.lines) text += `${ESC}2K${line.length > width ? line.slice(0, width - 1) + '…' : line}\n`
    text += `${ESC}J` // a shorter frame than the last one: clear what is left below
    this.#out.write(text)
    this.#drawn = frame.lines.length
  }

  #erase(): void {
    if (this.#drawn > 0) this.#out.write(`${ESC}${this.#drawn}F${ESC}J`)
    this.#drawn = 0
  }
}

function showCursor(): void {
  process.stdout.write(`${ESC}?25h`)
}

/**
 * `[████████░░░░]`: a progress bar of `width` cells for a fraction in [0, 1].
 *
 * @example
 * bar(0.5, 8) // '[████░░░░]'
 */
export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0))
  const full = Math.floor(f * width)
  const partial = ' ▏▎▍▌▋▊▉'[Math.floor((f * width - full) * 8)] ?? ''
  return `[${'█'.repeat(full)}${full < width ? (partial === ' ' ? '░' : partial) : ''}${'░'.repeat(Math.max(0, width - full - 1))}]`
}

/**
 * An integer with thousands separators: `12,345`.
 *
 * @example
 * count(200000) // '200,000'
 */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

/**
 * Seconds with one decimal, or milliseconds below one second: `850 ms`, `12.3 s`.
 *
 * @example
 * duration(12_345) // '12.3 s'
 */
export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/**
 * Right-aligned columns, one string per row, the header first.
 *
 * @example
 * table(['p', 'lag'], [['0', '12'], ['1', '3']]) // ['p  lag', '0   12', '1    3']
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(widths[i]!)).join('  ')
  return [line(header), ...rows.map(line)]
}
