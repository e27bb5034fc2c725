// format() with Go's fmt verbs and formatdate() with Terraform's date spec, as Packer's
// HCL2 functions have them.
import { HclExpressionError } from "./ast.js";

/** Go's fmt.Sprintf for the verbs templates use: %s %d %f %v %q %t %x %X %o %b %e %%, with flags, width and precision. */
export function goFormat(format: string, args: unknown[]): string {
  let next = 0;
  return format.replace(
    /%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g,
    (_whole, flags: string, width, precision, verb: string) => {
      if (verb === "%") return "%";
      if (next >= args.length) throw new HclExpressionError(`format: too few arguments for "%${verb}"`);
      const value = args[next++];
      let text: string;
      const number = () => {
        const n = typeof value === "number" ? value : Number(value);
        if (Number.isNaN(n))
          throw new HclExpressionError(`format: %${verb} needs a number, got ${JSON.stringify(value)}`);
        return n;
      };
      switch (verb) {
        case "s":
        case "v":
          text = typeof value === "string" ? value : JSON.stringify(value);
          if (precision !== undefined) text = text.slice(0, Number(precision));
          break;
        case "q":
          text = JSON.stringify(typeof value === "string" ? value : JSON.stringify(value));
          break;
        case "d":
          text = String(Math.trunc(number()));
          break;
        case "f":
        case "F":
          text = number().toFixed(precision === undefined ? 6 : Number(precision));
          break;
        case "e":
          text = number().toExponential(precision === undefined ? 6 : Number(precision));
          break;
        case "t":
          text = String(value === true || value === "true");
          break;
        case "x":
        case "X":
          text = typeof value === "string" ? Buffer.from(value).toString("hex") : Math.trunc(number()).toString(16);
          if (verb === "X") text = text.toUpperCase();
          break;
        case "o":
          text = Math.trunc(number()).toString(8);
          break;
        case "b":
          text = Math.trunc(number()).toString(2);
          break;
        default:
          throw new HclExpressionError(`format: unsupported verb "%${verb}"`);
      }
      if (flags.includes("+") && /^[dfFe]$/.test(verb) && !text.startsWith("-")) text = `+${text}`;
      const size = width === undefined ? 0 : Number(width);
      if (text.length >= size) return text;
      if (flags.includes("-")) return text.padEnd(size);
      if (flags.includes("0") && /^[dfFexXob]$/.test(verb)) {
        const sign = /^[+-]/.test(text) ? (text[0] as string) : "";
        return sign + text.slice(sign.length).padStart(size - sign.length, "0");
      }
      return text.padStart(size);
    },
  );
}

export const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
export const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** formatdate(spec, RFC 3339 timestamp): YYYY YY MMMM MMM MM M DD D EEEE EEE hh h HH H mm m ss s AA aa ZZZZZ ZZZZ ZZZ Z 'literal'. */
export function formatDate(spec: string, timestamp: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(timestamp);
  if (!match) throw new HclExpressionError(`formatdate: "${timestamp}" is not an RFC 3339 timestamp (use timestamp())`);
  const [, y, mo, d, h, mi, s, , zone] = match as unknown as string[];
  // The wall clock as written, in the timestamp's own offset, as Go does.
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDay();
  const hour = Number(h);
  const offset = zone === "Z" || zone === "z" ? "+00:00" : (zone as string);
  const pad = (n: number | string, w = 2) => String(n).padStart(w, "0");
  const tokens: Record<string, string> = {
    YYYY: y as string,
    YY: (y as string).slice(2),
    MMMM: MONTHS[Number(mo) - 1] as string,
    MMM: (MONTHS[Number(mo) - 1] as string).slice(0, 3),
    MM: mo as string,
    M: String(Number(mo)),
    DD: d as string,
    D: String(Number(d)),
    EEEE: DAYS[day] as string,
    EEE: (DAYS[day] as string).slice(0, 3),
    hh: h as string,
    h: String(hour),
    HH: pad(hour % 12 === 0 ? 12 : hour % 12),
    H: String(hour % 12 === 0 ? 12 : hour % 12),
    mm: mi as string,
    m: String(Number(mi)),
    ss: s as string,
    s: String(Number(s)),
    AA: hour < 12 ? "AM" : "PM",
    aa: hour < 12 ? "am" : "pm",
    ZZZZZ: offset,
    ZZZZ: offset.replace(":", ""),
    ZZZ: offset === "+00:00" ? "UTC" : offset.replace(":", ""),
    Z: offset === "+00:00" ? "Z" : offset,
  };
  return spec.replace(
    /'((?:[^']|'')*)'|YYYY|YY|MMMM|MMM|MM|M|DD|D|EEEE|EEE|hh|h|HH|H|mm|m|ss|s|AA|aa|ZZZZZ|ZZZZ|ZZZ|Z/g,
    (token, literal: string | undefined) =>
      literal !== undefined ? literal.replace(/''/g, "'") || "'" : (tokens[token] as string),
  );
}
