/**
 * A small command-line argument parser: typed options declared once, used for parsing, validation and `--help`.
 *
 * Accepted forms: `--name value`, `--name=value`, `--flag` (booleans), `--no-flag`, and `--` to end options.
 * Every mistake is a {@link UsageError} with one line that says what was wrong and what was expected; an unknown
 * option suggests the nearest known one (`unknown option --stpes; did you mean --steps?`).
 *
 * Left out on purpose: short options, option bundling and repeated options; the commands have few enough options
 * that long names read better.
 *
 * @module
 */

/** The type of an option's value. */
export type OptionType = "string" | "int" | "number" | "boolean";

/** One option of a command. */
export interface OptionSpec {
  /** How the value is parsed and checked. */
  type: OptionType;
  /** One line for `--help`. */
  help: string;
  /** The value when the option is absent (shown in `--help`). */
  default?: string | number | boolean;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  /** Smallest allowed value of a number option. */
  min?: number;
  /** Largest allowed value of a number option. */
  max?: number;
  /** Name of the value in `--help` (default: the type). */
  placeholder?: string;
}

/** A command: its name, a summary, options and examples. */
export interface CommandSpec {
  /** e.g. `"train"`. */
  name: string;
  /** One line saying what the command does. */
  summary: string;
  /** More lines for `--help`, after the summary. */
  description?: string;
  /** Options by long name (without the dashes). */
  options: Record<string, OptionSpec>;
  /** Example invocations for `--help`. */
  examples?: string[];
}

/** A user's mistake on the command line; the CLI prints its message as one line and exits with code 2. */
export class UsageError extends Error {
  /** @param message one line: what was wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The parsed options of one command, with typed accessors. */
export class ParsedArgs {
  /**
   * @param spec the command the options belong to.
   * @param values the parsed values of the options given on the command line.
   * @param help whether `--help` was given.
   */
  constructor(
    readonly spec: CommandSpec,
    readonly values: ReadonlyMap<string, string | number | boolean>,
    readonly help: boolean,
  ) {}

  /** Whether the option was given explicitly. */
  has(name: string): boolean {
    this.#spec(name);
    return this.values.has(name);
  }

  /** A string option (its value or default), or undefined. */
  string(name: string): string | undefined {
    const v = this.#get(name, "string");
    return v === undefined ? undefined : String(v);
  }

  /** A number or int option (its value or default), or undefined. */
  number(name: string): number | undefined {
    const v = this.#get(name, "int", "number");
    return v === undefined ? undefined : Number(v);
  }

  /** A boolean option: true if given (or defaulted true). */
  bool(name: string): boolean {
    return this.#get(name, "boolean") === true;
  }

  #spec(name: string): OptionSpec {
    const spec = this.spec.options[name];
    if (!spec) throw new Error(`ParsedArgs: the ${this.spec.name} command declares no option --${name}`);
    return spec;
  }

  #get(name: string, ...types: OptionType[]): string | number | boolean | undefined {
    const spec = this.#spec(name);
    if (!types.includes(spec.type)) {
      throw new Error(`ParsedArgs: --${name} is a ${spec.type} option, not ${types.join("/")}`);
    }
    return this.values.get(name) ?? spec.default;
  }
}

/** Edit distance between two short strings, a swap of neighbours counting once (for "did you mean"). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      // Two neighbouring letters swapped (`stpes`) count as one edit.
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The known name closest to `name`, if close enough to be a typo. */
export function suggest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = k.startsWith(name) && name.length >= 2 ? 0.5 : distance(name, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Parses and checks one value. */
function parseValue(name: string, spec: OptionSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case "boolean":
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new UsageError(`--${name} is a flag; give it alone, or as --${name}=true / --${name}=false`);
    case "string":
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(
          `--${name} must be one of ${spec.choices.join(", ")}; got ${JSON.stringify(raw)}`,
        );
      }
      return raw;
    case "int":
    case "number": {
      const value = raw.trim() === "" ? NaN : Number(raw);
      if (!Number.isFinite(value) || (spec.type === "int" && !Number.isInteger(value))) {
        throw new UsageError(
          `--${name} expects ${spec.type === "int" ? "an integer" : "a number"}, got ${JSON.stringify(raw)}`,
        );
      }
      if (spec.min !== undefined && value < spec.min) {
        throw new UsageError(`--${name} must be at least ${spec.min}, got ${value}`);
      }
      if (spec.max !== undefined && value > spec.max) {
        throw new UsageError(`--${name} must be at most ${spec.max}, got ${value}`);
      }
      return value;
    }
  }
}

/**
 * Parses `argv` (the arguments after the command name) against `spec`.
 *
 * @throws {UsageError} for an unknown option, a missing or malformed value, or a stray argument.
 */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const values = new Map<string, string | number | boolean>();
  let help = false;
  const where = `${spec.name}`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      if (i + 1 < argv.length) {
        throw new UsageError(`${where} takes no positional arguments, got ${JSON.stringify(argv[i + 1])}`);
      }
      break;
    }
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--")) {
      throw new UsageError(
        `${where}: unexpected argument ${JSON.stringify(arg)}; options start with -- (see ${where} --help)`,
      );
    }
    const eq = arg.indexOf("=");
    let name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    let opt = spec.options[name];
    if (
      !opt && name.startsWith("no-") && spec.options[name.slice(3)]?.type === "boolean" &&
      inline === undefined
    ) {
      name = name.slice(3);
      opt = spec.options[name];
      inline = "false";
    }
    if (!opt) {
      const near = suggest(name, Object.keys(spec.options));
      throw new UsageError(
        `${where}: unknown option --${name}` + (near ? `; did you mean --${near}?` : `; see ${where} --help`),
      );
    }
    if (values.has(name)) throw new UsageError(`${where}: --${name} is given twice`);
    if (opt.type === "boolean") {
      values.set(name, inline === undefined ? true : parseValue(name, opt, inline));
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`${where}: --${name} needs a value (${opt.placeholder ?? opt.type})`);
      }
      inline = next;
      i++;
    }
    values.set(name, parseValue(name, opt, inline));
  }
  return new ParsedArgs(spec, values, help);
}

/**
 * `args` with other defaults for the options not given on the command line, e.g. a model's recommended sampler
 * settings. Keys are option names with `_` for `-` (`block_length`); each value is checked like a command-line
 * value, and a mistake names `source`.
 *
 * @throws {UsageError} for an unknown key or a bad value.
 */
export function withDefaults(
  args: ParsedArgs,
  defaults: Record<string, unknown>,
  source: string,
): ParsedArgs {
  const values = new Map(args.values);
  for (const [key, value] of Object.entries(defaults)) {
    const name = key.replaceAll("_", "-");
    const spec = args.spec.options[name];
    if (!spec) throw new UsageError(`${source}: unknown setting ${JSON.stringify(key)}`);
    if (values.has(name)) continue;
    try {
      values.set(name, parseValue(name, spec, String(value)));
    } catch (e) {
      throw new UsageError(`${source}: ${(e as Error).message.replace(`--${name}`, key)}`);
    }
  }
  return new ParsedArgs(args.spec, values, args.help);
}

/**
 * Parses a command's arguments, or prints its `--help` and returns null (the command then exits with 0).
 *
 * @throws {UsageError} as {@link parseArgs}.
 */
export function parseCommand(
  spec: CommandSpec,
  argv: readonly string[],
  program?: string,
): ParsedArgs | null {
  const args = parseArgs(spec, argv);
  if (!args.help) return args;
  console.log(formatHelp(spec, program));
  return null;
}

/** The `--help` text of a command. */
export function formatHelp(spec: CommandSpec, program = "deno task llada"): string {
  const lines = [`${program} ${spec.name}: ${spec.summary}`];
  if (spec.description) lines.push("", spec.description.trimEnd());
  lines.push("", "Options:");
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const value = o.type === "boolean"
      ? ""
      : ` <${o.placeholder ?? (o.choices ? o.choices.join("|") : o.type)}>`;
    const def = o.default !== undefined && o.type !== "boolean" ? ` (default ${o.default})` : "";
    return [`  --${name}${value}`, o.help + def];
  });
  rows.push(["  --help", "show this help"]);
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  for (const [left, right] of rows) {
    lines.push(left.length >= width ? `${left}\n${" ".repeat(width)}${right}` : left.padEnd(width) + right);
  }
  if (spec.examples?.length) lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}
