import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as KeyringStore from "../src/KeyringStore.js"
import * as Keyring from "./support/keyring.js"
import * as Processes from "./support/processes.js"
import * as Programs from "./support/programs.js"

interface Roundtrip {
  readonly probe: boolean
  readonly probeMillis: number
  readonly missing: boolean
  readonly readBack: string | null
  readonly size: number
  readonly removed: boolean
  readonly tokenRoundTrip: boolean
  readonly corruptMessage: string
  readonly corruptKey: string
  readonly corruptKept: boolean
  readonly sizeBeforeClear: number
  readonly sizeAfterClear: number
}

interface Unavailable {
  readonly probe: boolean
  readonly probeMillis: number
  readonly error: string
  readonly errorTag: string
  readonly errorMillis: number
}

describe("KeyringStore", () => {
  it("describes itself without secrets", () => {
    assert.strictEqual(KeyringStore.describe(), "system keyring (service \"effect-auth\")")
    assert.strictEqual(KeyringStore.describe({ service: "x" }), "system keyring (service \"x\")")
  })

  it.live("a keyring that hangs gives a timeout error naming the system keyring and the fix, never a hang", () =>
    Effect.scoped(Effect.gen(function*() {
      const bus = yield* Keyring.silentBus
      const script = yield* Processes.bundle("keyringCheck.ts")
      const finished = yield* Processes.run(script, ["effect-auth-test", "500"], 20_000, {
        env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${bus.path}`, DISPLAY: undefined }
      })
      const result = Processes.result<Unavailable>(finished)
      // eslint-disable-next-line no-console
      console.log(`hung keyring: probe false after ${result.probeMillis} ms, get failed after ${result.errorMillis} ms`)
      assert.isFalse(result.probe)
      assert.strictEqual(result.errorTag, "CredentialStoreError")
      assert.include(result.error, "system keyring")
      assert.include(result.error, "did not answer within")
      assert.include(result.error, "file storage")
      assert.isBelow(result.probeMillis, 2_000)
      assert.isBelow(result.errorMillis, 2_000)
    })), 30_000)

  describe.skipIf(!Programs.shouldRun(...Keyring.programs))("under a real gnome-keyring", () => {
    it.live("get/set/remove/size/clear and Token round trip through the Secret Service", () =>
      Effect.scoped(Effect.gen(function*() {
        const script = yield* Processes.bundle("keyringCheck.ts")
        const finished = yield* Keyring.runInSession(script, ["effect-auth-test", "3000"], 25_000)
        const result = Processes.result<Roundtrip>(finished)
        // eslint-disable-next-line no-console
        console.log(`gnome-keyring: probe ${result.probe} in ${result.probeMillis} ms`)
        assert.isTrue(result.probe, finished.stderr)
        assert.isTrue(result.missing)
        assert.strictEqual(result.readBack, "value-a")
        assert.strictEqual(result.size, 2)
        assert.isTrue(result.removed)
        assert.isTrue(result.tokenRoundTrip)
        assert.strictEqual(result.corruptKey, "corrupt")
        assert.include(result.corruptMessage, "system keyring")
        assert.notInclude(result.corruptMessage, "secret")
        assert.isTrue(result.corruptKept)
        assert.strictEqual(result.sizeBeforeClear, 2)
        assert.strictEqual(result.sizeAfterClear, 0)
      })), 30_000)

    it.live("the helper program is found from the sources (tsx) and from the built package (dist)", () =>
      Effect.scoped(Effect.gen(function*() {
        const source = yield* Keyring.runInSession(Processes.fixture("keyringCheck.ts"), ["effect-auth-src", "3000"], 25_000)
        const fromSource = Processes.result<Roundtrip>(source)
        assert.isTrue(fromSource.probe, source.stderr)
        assert.strictEqual(fromSource.readBack, "value-a")
        const dist = yield* Keyring.runInSession(Processes.fixture("keyringDist.mjs"), ["effect-auth-dist"], 25_000)
        assert.deepStrictEqual(Processes.result(dist), { readBack: "dist-value", removed: true }, dist.stderr)
      })), 40_000)
  })
})
