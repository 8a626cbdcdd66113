/**
 * A place in a function as %pS prints it: `generic_exec_single+0x3/0x11`,
 * the offset into the function and the function's size, in hex.
 */
export function symbolOffset(name: string, offset: number, size: number): string {
  return `${name}+0x${offset.toString(16)}/0x${size.toString(16)}`;
}

/**
 * printk-style formatting: %d %i %u %x %X %o %c %s %p %pS %ps %pF %pf %%, with
 * flags, width and the h/l/ll/z length modifiers (all values are 32-bit cells).
 * `symbol` names a function value, with its offset and size for %pS %pF %pB.
 */
export function formatPrintk(fmt: string, values: readonly number[], symbol: (v: number, withOffset: boolean) => string, str: (v: number) => string): string {
  let out = '';
  let arg = 0;
  const next = () => (arg < values.length ? values[arg++] : 0);
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const m = /^%([-0 +#]*)(\d*)(?:\.(\d+))?(hh|h|ll|l|z)?([diuxXocsp%])([SsFfB]?)/.exec(fmt.slice(i));
    if (!m) {
      out += ch;
      continue;
    }
    const [whole, flags, width, , , conv, ext] = m;
    i += whole.length - 1;
    let s: string;
    let consumedExt = false;
    switch (conv) {
      case '%': s = '%'; break;
      case 'd':
      case 'i': s = String(next() | 0); break;
      case 'u': s = String(next() >>> 0); break;
      case 'x': s = (next() >>> 0).toString(16); break;
      case 'X': s = (next() >>> 0).toString(16).toUpperCase(); break;
      case 'o': s = (next() >>> 0).toString(8); break;
      case 'c': s = String.fromCharCode(next() & 0xff); break;
      case 's': s = str(next()); break;
      case 'p':
        consumedExt = ext !== '';
        if (ext === 'S' || ext === 'F' || ext === 'B') s = symbol(next(), true);
        else if (ext === 's' || ext === 'f') s = symbol(next(), false);
        else s = `0x${(next() >>> 0).toString(16).padStart(8, '0')}`;
        break;
      default: s = '';
    }
    if (!consumedExt && ext) i -= ext.length;
    const w = Number(width || 0);
    if (s.length < w) s = flags.includes('-') ? s.padEnd(w) : s.padStart(w, flags.includes('0') && conv !== 's' ? '0' : ' ');
    out += s;
  }
  return out;
}
