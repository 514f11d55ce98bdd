/**
 * The error a caller can fix: a wrong argument, a missing or malformed file, a request the model cannot serve.
 *
 * Everything else thrown by the library is a bug (in llada-ts or in code that calls it wrongly on purpose) and
 * stays a plain `Error` with the name of the function that found it. Programs tell the two apart with
 * `instanceof InputError`: the command line prints an `InputError`'s message alone and exits with status 2,
 * and shows the full stack of anything else.
 *
 * @module
 */

/**
 * A mistake in what the caller passed: the message names the argument (an option, a field, a file), says what
 * was wrong with it and what to do instead, e.g.
 * `genLength: 64 tokens after an 8-token prompt exceed the model's max_sequence_length 32; pass genLength ≤ 24`.
 */
export class InputError extends Error {
  /** The argument, option, field or file that was wrong (`genLength`, `--prompt`, `models/x/tokenizer.json`). */
  readonly argument: string;
  /** What was wrong with it. */
  readonly problem: string;
  /** What to do about it. */
  readonly fix: string;

  /**
   * An error whose message reads `argument: problem; fix`.
   *
   * @param argument what was wrong, by the name the caller knows it by.
   * @param problem what was wrong with it.
   * @param fix what to do instead.
   */
  constructor(argument: string, problem: string, fix: string) {
    super(`${argument}: ${problem}; ${fix}`);
    this.name = "InputError";
    this.argument = argument;
    this.problem = problem;
    this.fix = fix;
  }
}
