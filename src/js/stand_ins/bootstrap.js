// Runs once per runtime, before any module: makes the global environment
// what a Convex mutation sees, deterministically. `__now` (the run's clock,
// ms since 1970) and `__host` are set by the Rust side.
(() => {
  const NOW = globalThis.__now;
  const RealDate = Date;

  // Convex runs in UTC: local-time methods are their UTC twins here, so a
  // result never depends on the machine's time zone.
  const proto = RealDate.prototype;
  for (const part of ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"]) {
    const get = proto[`getUTC${part}`];
    Object.defineProperty(proto, `get${part}`, { value: get, writable: true, configurable: true });
    const set = proto[`setUTC${part}`];
    if (set) Object.defineProperty(proto, `set${part}`, { value: set, writable: true, configurable: true });
  }
  Object.defineProperty(proto, "getTimezoneOffset", { value: () => 0, writable: true, configurable: true });
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const two = (n) => String(n).padStart(2, "0");
  const dateText = (d) => `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${two(d.getUTCDate())} ${d.getUTCFullYear()}`;
  const timeText = (d) => `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} GMT+0000 (Coordinated Universal Time)`;
  const valid = (d, f) => (Number.isNaN(d.getTime()) ? "Invalid Date" : f(d));
  Object.defineProperty(proto, "toString", { value: function () { return valid(this, (d) => `${dateText(d)} ${timeText(d)}`); }, writable: true, configurable: true });
  Object.defineProperty(proto, "toDateString", { value: function () { return valid(this, dateText); }, writable: true, configurable: true });
  Object.defineProperty(proto, "toTimeString", { value: function () { return valid(this, timeText); }, writable: true, configurable: true });
  for (const m of ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]) {
    Object.defineProperty(proto, m, { value: proto.toISOString, writable: true, configurable: true });
  }

  function FixedDate(...args) {
    if (!new.target) return new RealDate(NOW).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [NOW] : args, new.target);
  }
  Object.defineProperty(FixedDate, "name", { value: "Date" });
  FixedDate.prototype = proto;
  Object.defineProperty(proto, "constructor", { value: FixedDate, writable: true, configurable: true });
  FixedDate.now = () => NOW;
  FixedDate.parse = RealDate.parse;
  FixedDate.UTC = RealDate.UTC;
  globalThis.Date = FixedDate;

  // Seeded randomness (sfc32), reseeded before every call from the
  // migration's name and the document's _id. The seed takes effect when
  // the call first asks for a random number (most never do).
  let a = 1, b = 2, c = 3, d = 4;
  let seeds = null;
  let at = 0;
  function next() {
    if (seeds !== null) {
      a = seeds[at]; b = seeds[at + 1]; c = seeds[at + 2]; d = seeds[at + 3];
      seeds = null;
      for (let i = 0; i < 12; i++) next();
    }
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  }
  // The seed of the next call: four words of `list` from `index` on.
  globalThis.__seed = (list, index) => {
    seeds = list;
    at = index;
  };
  Math.random = () => next() / 4294967296;
  const getRandomValues = (array) => {
    if (!ArrayBuffer.isView(array)) throw new TypeError("getRandomValues needs a typed array");
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
    return array;
  };
  const randomUUID = () => {
    const h = Array.from(getRandomValues(new Uint8Array(16)), (x, i) =>
      (i === 6 ? (x & 0x0f) | 0x40 : i === 8 ? (x & 0x3f) | 0x80 : x).toString(16).padStart(2, "0"),
    ).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };
  globalThis.crypto = { getRandomValues, randomUUID };

  // console: each line goes to the report, with the document being run.
  const show = (v) => {
    if (typeof v === "string") return v;
    if (typeof v === "bigint") return `${v}n`;
    if (v === undefined) return "undefined";
    if (typeof v === "function") return `[Function ${v.name || "(anonymous)"}]`;
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack}` : `${v.name}: ${v.message}`;
    try {
      const s = JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x instanceof ArrayBuffer ? `ArrayBuffer(${x.byteLength})` : x));
      return s === undefined ? String(v) : s;
    } catch {
      return String(v);
    }
  };
  const log = (level) => (...args) => globalThis.__host.log(level, ...args.map(show));
  globalThis.console = {
    log: log("log"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    debug: log("debug"),
    trace: log("trace"),
  };
  // Object spread as V8, the engine of Convex's runtime, does it: a string
  // spreads its characters (QuickJS's spread skips every primitive). The
  // module loader wraps each spread of an object literal in this helper and
  // records what it inserted in the shifts table, [line, column, length]
  // per insertion, by module name (see strip.rs).
  const hidden = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: false, enumerable: false, configurable: false });
  hidden("__convexSnapshotSpread", (v) => (typeof v === "string" ? Object(v) : v));
  const shifts = Object.create(null);
  hidden("__convexSnapshotShifts", shifts);
  const column = (file, line, col) => {
    const list = shifts[file];
    if (list === undefined || line === null || col === null) return col;
    let moved = 0;
    for (const [l, c, n] of list) if (l === line && c <= col) moved += n;
    return col - moved;
  };
  // QuickJS's own stack format, with the columns the helper moved put back.
  Error.prepareStackTrace = (_error, sites) => {
    let text = "";
    for (const site of sites) {
      const file = site.getFileName();
      const line = site.getLineNumber();
      const where = line === null ? `${file}` : `${file}:${line}:${column(file, line, site.getColumnNumber())}`;
      if (site.getFunction() === null && file !== null) {
        text += `    at ${where}\n`; // where a syntax error is
      } else {
        const name = site.getFunctionName() || "<anonymous>";
        text += site.isNative() ? `    at ${name} (native)\n` : `    at ${name} (${where})\n`;
      }
    }
    return text;
  };
})();
