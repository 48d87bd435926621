// The parts of `cloudflare:test` (from @cloudflare/vitest-pool-workers) these tests use, typed with
// the adapter's own `*Like` shapes, so no Workers type package leaks into any typecheck.
declare module "cloudflare:test" {
  type Stub = import("../../adapters/cloudflare/platform.ts").DurableObjectStubLike;
  /** The object's state, plus `abort()`, which resets the object (a crash, as far as it can tell). */
  type State = import("../../adapters/cloudflare/platform.ts").DurableObjectStateLike & {
    abort(reason?: string): void;
  };
  type Namespace = import("../../adapters/cloudflare/platform.ts").DurableObjectNamespaceLike;
  type Kv = import("../../adapters/cloudflare/platform.ts").KvNamespaceLike;

  /** The bindings of test/workers/wrangler.toml. */
  export interface TestEnv {
    readonly STORE_HARNESS: Namespace;
    readonly TEST_HOST: Namespace;
    readonly RUN_HOST: Namespace;
    readonly CHECKPOINTS: Kv;
    readonly BREAKERS: Namespace;
    readonly CANO_API_TOKEN: string;
  }
  export const env: TestEnv;
  /** The main worker (test/workers/worker.ts, which serves the example Worker). */
  export const SELF: {
    fetch(input: Request | string, init?: RequestInit): Promise<Response>;
  };
  /** Runs `callback` inside the object behind `stub`, with its instance and state. */
  export function runInDurableObject<TInstance, TResult>(
    stub: Stub,
    callback: (instance: TInstance, state: State) => TResult | Promise<TResult>,
  ): Promise<TResult>;
  /** Runs the object's alarm now if one is set; resolves whether it ran. */
  export function runDurableObjectAlarm(stub: Stub): Promise<boolean>;
  /** Tears the running object down (its in-memory state is lost, its storage kept). */
  export function evictDurableObject(stub: Stub): Promise<void>;
}
