// What every generated module holds: the part of an Autobahn|JS session it uses, the
// error type calls fail with, and how arguments and results travel.

/** What the generated clients need of an Autobahn|JS session (`autobahn.Session`). */
export interface WampSession {
  call(
    procedure: string,
    args?: unknown[],
    kwargs?: Record<string, unknown>,
    options?: Record<string, unknown>,
  ): PromiseLike<unknown>;
  publish(
    topic: string,
    args?: unknown[],
    kwargs?: Record<string, unknown>,
    options?: Record<string, unknown>,
  ): PromiseLike<unknown> | null | undefined | void;
  subscribe(
    topic: string,
    handler: (args: unknown[], kwargs: Record<string, unknown>, details: { topic?: string }) => void,
    options?: Record<string, unknown>,
  ): PromiseLike<unknown>;
}

/** CALL options every call of a client carries (`timeout` in milliseconds, `disclose_me`…). */
export type CallOptions = Record<string, unknown>;

/** A call or publication failed: the error URI, with its args and kwargs. */
export class WampError extends Error {
  constructor(
    readonly uri: string,
    readonly args: unknown[] = [],
    readonly kwargs: Record<string, unknown> = {},
  ) {
    super(typeof args[0] === "string" ? `${uri}: ${args[0]}` : uri);
    this.name = "WampError";
  }
}

type ErrorClass = new (args: unknown[], kwargs: Record<string, unknown>) => WampError;

/** The error classes of this module, by URI. */
const errorClasses: Record<string, ErrorClass> = {};

/** What Autobahn|JS rejected a call with, as the typed error of its URI. */
export function toError(e: unknown): unknown {
  const raw = e as { error?: unknown; args?: unknown; kwargs?: unknown } | null;
  if (raw && typeof raw === "object" && typeof raw.error === "string") {
    const args = Array.isArray(raw.args) ? raw.args : [];
    const kwargs = raw.kwargs && typeof raw.kwargs === "object" ? (raw.kwargs as Record<string, unknown>) : {};
    const known = errorClasses[raw.error];
    return known ? new known(args, kwargs) : new WampError(raw.error, args, kwargs);
  }
  return e;
}

/** A result as args and kwargs. Autobahn|JS resolves a call to its single argument, to
 * null for none, and to an `autobahn.Result` ({args, kwargs}) otherwise. */
export interface Answer {
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** @internal */
export function answer(r: unknown): Answer {
  if (r === null || r === undefined) return { args: [], kwargs: {} };
  const o = r as { args?: unknown; kwargs?: unknown };
  const keys = typeof r === "object" ? Object.keys(r as object).sort().join(",") : "";
  if (keys === "args,kwargs" && Array.isArray(o.args) && o.kwargs && typeof o.kwargs === "object") {
    return { args: o.args, kwargs: o.kwargs as Record<string, unknown> };
  }
  return { args: [r], kwargs: {} };
}

/** `value` as one URI component (not empty, no `.`, `#` or whitespace).
 * @internal
 */
export function component(value: string | number | boolean, name: string): string {
  const s = String(value);
  if (s === "" || /[.#\s]/.test(s)) {
    throw new WampError("wamp.error.invalid_uri", [`{${name}}: ${JSON.stringify(s)} is not one URI component`]);
  }
  return s;
}

/** `value` as the URI components of a tail placeholder (`{*name}`).
 * @internal
 */
export function tail(value: string, name: string): string {
  value.split(".").forEach((c) => component(c, name));
  return value;
}

/** The keyword arguments that are given (`undefined` and `null` ones are left out).
 * @internal
 */
export function given(kwargs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(kwargs)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/** @internal */
export async function invoke(
  session: WampSession,
  options: CallOptions,
  uri: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  own: CallOptions,
): Promise<Answer> {
  try {
    return answer(await session.call(uri, args, kwargs, { ...options, ...own }));
  } catch (e) {
    throw toError(e);
  }
}

/** An Autobahn|JS call promise, which also reports progressive results. */
interface ProgressPromise {
  then(done: (r: unknown) => void, failed: (e: unknown) => void, progress: (r: unknown) => void): unknown;
}

/** The progressive results of a call, as they come.
 * @internal
 */
export function progressive<T>(start: () => PromiseLike<unknown>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const items: T[] = [];
      let done = false;
      let failure: unknown = undefined;
      let wake: (() => void) | null = null;
      const poke = () => {
        const w = wake;
        wake = null;
        if (w) w();
      };
      (start() as unknown as ProgressPromise).then(
        () => {
          done = true;
          poke();
        },
        (e) => {
          failure = toError(e);
          done = true;
          poke();
        },
        (r) => {
          items.push(answer(r).args[0] as T);
          poke();
        },
      );
      return {
        async next(): Promise<IteratorResult<T>> {
          while (items.length === 0 && !done) await new Promise<void>((w) => (wake = w));
          if (items.length > 0) return { value: items.shift() as T, done: false };
          if (failure !== undefined) throw failure;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/** @internal */
export async function publishTo(
  session: WampSession,
  uri: string,
  args: unknown[],
  kwargs: Record<string, unknown>,
  options: Record<string, unknown>,
): Promise<void> {
  try {
    await session.publish(uri, args, kwargs, { acknowledge: true, ...options });
  } catch (e) {
    throw toError(e);
  }
}
