/**
 * One read from the Secret Service (gnome-keyring, KWallet, KeePassXC) over the D-Bus session bus,
 * in plain JavaScript, for the binary's fast path.
 *
 * Why not `@napi-rs/keyring`, which the stores use: it connects to the bus synchronously on the
 * calling thread (a hung bus or keyring blocks the event loop, no timer can fire) and loading it
 * costs a third of Node's start-up. Here every step is asynchronous I/O on one socket under one
 * deadline: a bus or keyring that does not answer in time, or any answer that is not exactly one
 * unlocked item, gives `undefined`, and the full command runs (with its own bounded keyring calls).
 * Only what that read needs is implemented: the EXTERNAL handshake, method calls with `s`, `o`,
 * `v` and `a{ss}` arguments, and replies decoded by their signature (D-Bus specification,
 * "Message Protocol"; Secret Service API 0.2, `OpenSession`, `SearchItems`, `Item.GetSecret`).
 *
 * @internal
 */
import * as Net from "node:net"

/** @internal */
export interface Query {
  /** The `service` attribute (`@napi-rs/keyring`'s service). */
  readonly service: string
  /** The `username` attribute (its account: the store key). */
  readonly account: string
}

/** A parsed argument of a method call: its D-Bus type and value. */
type Arg =
  | { readonly type: "s" | "o"; readonly value: string }
  | { readonly type: "v"; readonly value: string }
  | { readonly type: "a{ss}"; readonly value: Readonly<Record<string, string>> }

const bus = "org.freedesktop.DBus"
const secrets = "org.freedesktop.secrets"
const secretsPath = "/org/freedesktop/secrets"
const serviceInterface = "org.freedesktop.Secret.Service"

/**
 * The session bus's socket from `DBUS_SESSION_BUS_ADDRESS` (`unix:path=` or `unix:abstract=`), or
 * `undefined` for anything else (unset, `disabled:`, TCP, ...).
 *
 * @internal
 */
export const socketPath = (address: string | undefined): string | undefined => {
  if (address === undefined) return undefined
  for (const candidate of address.split(";")) {
    const [transport, rest = ""] = candidate.split(/:(.*)/s, 2)
    if (transport !== "unix") continue
    const keys = new Map(rest.split(",").map((pair) => {
      const at = pair.indexOf("=")
      return [pair.slice(0, at), decodeURIComponent(pair.slice(at + 1))] as const
    }))
    const path = keys.get("path")
    if (path !== undefined && path !== "") return path
    const abstract = keys.get("abstract")
    if (abstract !== undefined && abstract !== "") return `\0${abstract}`
  }
  return undefined
}

// --- marshalling (little-endian) -------------------------------------------------------------

/** Bytes as a binary (latin1) string: this runs once per process, cold, where string building is cheaper than Buffer calls. */
const u32 = (n: number): string => String.fromCharCode(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff)

/** UTF-8 as a binary string (ASCII is its own). */
const utf8 = (s: string): string => /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, "utf8").toString("latin1")

class Writer {
  private out = ""
  get length() {
    return this.out.length
  }
  align(n: number) {
    const pad = (n - (this.out.length % n)) % n
    if (pad > 0) this.out += "\0".repeat(pad)
  }
  byte(b: number) {
    this.out += String.fromCharCode(b & 0xff)
  }
  u32(n: number) {
    this.align(4)
    this.out += u32(n)
  }
  setU32(at: number, n: number) {
    this.out = this.out.slice(0, at) + u32(n) + this.out.slice(at + 4)
  }
  string(s: string) {
    const bytes = utf8(s)
    this.u32(bytes.length)
    this.out += `${bytes}\0`
  }
  signature(s: string) {
    this.byte(s.length)
    this.out += `${s}\0`
  }
  arg(arg: Arg) {
    switch (arg.type) {
      case "s":
      case "o":
        return this.string(arg.value)
      case "v":
        this.signature("s")
        return this.string(arg.value)
      case "a{ss}": {
        this.u32(0)
        const at = this.length - 4
        this.align(8)
        const start = this.length
        for (const [key, value] of Object.entries(arg.value)) {
          this.align(8)
          this.string(key)
          this.string(value)
        }
        this.setU32(at, this.length - start)
      }
    }
  }
  /** The bytes, as a binary string (write it with the `latin1` encoding). */
  bytes() {
    return this.out
  }
}

/** A method call message; `NO_AUTO_START`, so that a keyring that is not running is not started. */
const methodCall = (
  serial: number,
  call: { readonly path: string; readonly iface: string; readonly member: string; readonly destination: string },
  args: ReadonlyArray<Arg> = []
): string => {
  const body = new Writer()
  for (const arg of args) body.arg(arg)
  const header = new Writer()
  header.byte(0x6c) // 'l': little-endian
  header.byte(1) // METHOD_CALL
  header.byte(0x2) // NO_AUTO_START
  header.byte(1) // protocol version
  header.u32(body.length)
  header.u32(serial)
  header.u32(0)
  const fieldsAt = header.length - 4
  const field = (code: number, type: "o" | "s" | "g", value: string) => {
    header.align(8)
    header.byte(code)
    header.signature(type)
    if (type === "g") header.signature(value)
    else header.string(value)
  }
  field(1, "o", call.path)
  field(2, "s", call.iface)
  field(3, "s", call.member)
  field(6, "s", call.destination)
  if (args.length > 0) field(8, "g", args.map((a) => a.type).join(""))
  header.setU32(fieldsAt, header.length - fieldsAt - 4)
  header.align(8)
  return header.bytes() + body.bytes()
}

/** A decoded value: numbers, strings, byte arrays (Buffer), arrays and structs (arrays). */
type Value = number | bigint | boolean | string | Buffer | ReadonlyArray<Value>

/** A 32-bit unsigned number at `at` (byte reads: cheaper than Buffer's methods on their first call). */
const u32At = (buf: Buffer, at: number, le: boolean): number =>
  (le
    ? buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)
    : (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0

/** The UTF-8 text of `buf[from..to)` (ASCII, which names and paths are, without a Buffer call). */
const textAt = (buf: Buffer, from: number, to: number): string => {
  let s = ""
  for (let i = from; i < to; i++) {
    if (buf[i] >= 0x80) return buf.toString("utf8", from, to)
    s += String.fromCharCode(buf[i])
  }
  return s
}

class Reader {
  constructor(private readonly buf: Buffer, private offset: number, private readonly le: boolean) {}
  align(n: number) {
    this.offset = Math.ceil(this.offset / n) * n
  }
  u32() {
    this.align(4)
    const n = u32At(this.buf, this.offset, this.le)
    this.offset += 4
    return n
  }
  /** A 16- or 64-bit number (its bits; only lengths and flags are ever used). */
  private fixed(size: 2 | 8): number | bigint {
    this.align(size)
    const at = this.offset
    this.offset += size
    if (size === 2) return this.le ? this.buf.readUInt16LE(at) : this.buf.readUInt16BE(at)
    return this.le ? this.buf.readBigUInt64LE(at) : this.buf.readBigUInt64BE(at)
  }
  /** Reads one complete type starting at `sig[at]`; returns the value and the index after it. */
  value(sig: string, at: number): [Value, number] {
    const code = sig[at]
    switch (code) {
      case "y":
        return [this.buf[this.offset++], at + 1]
      case "b":
        return [this.u32() !== 0, at + 1]
      case "n":
      case "q":
        return [this.fixed(2), at + 1]
      case "i":
      case "u":
      case "h":
        return [this.u32(), at + 1]
      case "x":
      case "t":
      case "d":
        return [this.fixed(8), at + 1]
      case "s":
      case "o": {
        const length = this.u32()
        const s = textAt(this.buf, this.offset, this.offset + length)
        this.offset += length + 1
        return [s, at + 1]
      }
      case "g": {
        const length = this.buf[this.offset++]
        const s = textAt(this.buf, this.offset, this.offset + length)
        this.offset += length + 1
        return [s, at + 1]
      }
      case "v": {
        const [inner] = this.value("g", 0) as [string, number]
        return [this.value(inner, 0)[0], at + 1]
      }
      case "a": {
        const length = this.u32()
        const element = sig[at + 1]
        this.align(element === "(" || element === "{" || element === "x" || element === "t" || element === "d" ? 8 : 1)
        const end = this.offset + length
        const next = skip(sig, at + 1)
        if (element === "y") {
          const bytes = this.buf.subarray(this.offset, end)
          this.offset = end
          return [Buffer.from(bytes), next]
        }
        const items: Array<Value> = []
        while (this.offset < end) items.push(this.value(sig, at + 1)[0])
        return [items, next]
      }
      case "(":
      case "{": {
        this.align(8)
        const close = code === "(" ? ")" : "}"
        const fields: Array<Value> = []
        let i = at + 1
        while (sig[i] !== close) {
          const [v, n] = this.value(sig, i)
          fields.push(v)
          i = n
        }
        return [fields, i + 1]
      }
      default:
        throw new Error(`unsupported D-Bus type ${code}`)
    }
  }
}

/** The index after the complete type at `sig[at]`. */
const skip = (sig: string, at: number): number => {
  const code = sig[at]
  if (code === "a") return skip(sig, at + 1)
  if (code === "(" || code === "{") {
    const close = code === "(" ? ")" : "}"
    let i = at + 1
    while (sig[i] !== close) i = skip(sig, i)
    return i + 1
  }
  return at + 1
}

interface Reply {
  readonly replySerial: number
  readonly error: boolean
  readonly body: ReadonlyArray<Value>
}

/** Complete messages at the start of `buf`, and the number of bytes they took. */
const parseMessages = (buf: Buffer): [ReadonlyArray<Reply>, number] => {
  const replies: Array<Reply> = []
  let offset = 0
  while (buf.length - offset >= 16) {
    const le = buf[offset] === 0x6c
    const type = buf[offset + 1]
    const bodyLength = u32At(buf, offset + 4, le)
    const fieldsLength = u32At(buf, offset + 12, le)
    const bodyStart = offset + Math.ceil((16 + fieldsLength) / 8) * 8
    const end = bodyStart + bodyLength
    if (buf.length < end) break
    // alignment is relative to the message's first byte
    const message = buf.subarray(offset, end)
    const header = new Reader(message, 12, le)
    const [fields] = header.value("a(yv)", 0) as [ReadonlyArray<ReadonlyArray<Value>>, number]
    let replySerial = 0
    let signature = ""
    for (const [code, value] of fields) {
      if (code === 5 && typeof value === "number") replySerial = value
      if (code === 8 && typeof value === "string") signature = value
    }
    if (type === 2 || type === 3) {
      const reader = new Reader(message, bodyStart - offset, le)
      const body: Array<Value> = []
      for (let i = 0; i < signature.length;) {
        const [v, n] = reader.value(signature, i)
        body.push(v)
        i = n
      }
      replies.push({ replySerial, error: type === 3, body })
    }
    offset = end
  }
  return [replies, offset]
}

/**
 * The whole exchange up to the search, in one write (as sd-bus sends it; the bus reads what follows
 * `BEGIN` as messages): the `EXTERNAL` handshake with our uid, `BEGIN`, then `Hello` (serial 1),
 * `OpenSession("plain")` (serial 2) and `SearchItems` (serial 3), whose answers may come in any
 * order (matched by their reply serial).
 */
const opening = (query: Query, uid: number): string =>
  [
    `\0AUTH EXTERNAL ${[...String(uid)].map((digit) => (0x30 + Number(digit)).toString(16)).join("")}\r\nBEGIN\r\n`,
    methodCall(1, { path: "/org/freedesktop/DBus", iface: bus, member: "Hello", destination: bus }),
    methodCall(2, { path: secretsPath, iface: serviceInterface, member: "OpenSession", destination: secrets }, [
      { type: "s", value: "plain" },
      { type: "v", value: "" }
    ]),
    methodCall(3, { path: secretsPath, iface: serviceInterface, member: "SearchItems", destination: secrets }, [
      { type: "a{ss}", value: { service: query.service, username: query.account } }
    ])
  ].join("")

/**
 * The secret stored for `query`, when the Secret Service on the session bus answers within
 * `timeoutMillis` with exactly one unlocked item; `undefined` otherwise (no bus, no keyring, a
 * locked or missing item, several items, an error, too slow). Never throws, never blocks. Two
 * round trips: {@link opening}, then `Item.GetSecret` (serial 4). The connection closes in the
 * next turn of the event loop (a program that exits on the answer skips that).
 *
 * @internal
 */
export const read = (
  query: Query,
  options: { readonly address: string | undefined; readonly timeoutMillis: number }
): Promise<string | undefined> => {
  const path = socketPath(options.address)
  const uid = typeof process.getuid === "function" ? process.getuid() : undefined
  if (path === undefined || uid === undefined) return Promise.resolve(undefined)
  return exchange(Net.createConnection({ path }), query, uid, options.timeoutMillis)
}

const exchange = (socket: Net.Socket, query: Query, uid: number, timeoutMillis: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    let settled = false
    const finish = (value: string | undefined) => {
      if (settled) return
      settled = true
      resolve(value)
      // after the answer's continuations: the binary prints and exits before paying for the close
      setImmediate(() => {
        clearTimeout(timer)
        socket.destroy()
      })
    }
    const timer = setTimeout(() => finish(undefined), timeoutMillis)
    socket.on("error", () => finish(undefined))
    socket.on("close", () => finish(undefined))
    let authenticated = false
    let pending: Buffer = Buffer.alloc(0)
    let session: string | undefined
    let item: string | undefined
    // GetSecret once both the session and the one item are known, whichever answer comes first
    const getSecret = () => {
      if (session === undefined || item === undefined) return
      socket.write(methodCall(4, {
        path: item,
        iface: "org.freedesktop.Secret.Item",
        member: "GetSecret",
        destination: secrets
      }, [{ type: "o", value: session }]), "latin1")
    }
    const onReply = (reply: Reply) => {
      if (reply.error) return finish(undefined)
      if (reply.replySerial === 2) {
        // OpenSession -> (v output, o session)
        if (typeof reply.body[1] !== "string") return finish(undefined)
        session = reply.body[1]
        getSecret()
      } else if (reply.replySerial === 3) {
        // SearchItems -> (ao unlocked, ao locked)
        const [unlocked, locked] = reply.body
        if (!Array.isArray(unlocked) || !Array.isArray(locked)) return finish(undefined)
        if (unlocked.length !== 1 || locked.length !== 0 || typeof unlocked[0] !== "string") return finish(undefined)
        item = unlocked[0]
        getSecret()
      } else if (reply.replySerial === 4) {
        // GetSecret -> ((o session, ay parameters, ay value, s content_type))
        const secret = reply.body[0]
        const value = Array.isArray(secret) ? secret[2] : undefined
        finish(Buffer.isBuffer(value) ? value.toString("utf8") : undefined)
      }
    }
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      if (!authenticated) {
        // the handshake's answer, `OK <guid>`, then the replies
        let newline = 0
        while (newline + 1 < pending.length && (pending[newline] !== 0x0d || pending[newline + 1] !== 0x0a)) newline++
        if (newline + 1 >= pending.length) newline = -1
        if (newline < 0) return
        const line = textAt(pending, 0, newline)
        pending = pending.subarray(newline + 2)
        if (!line.startsWith("OK ")) return finish(undefined)
        authenticated = true
      }
      try {
        const [replies, used] = parseMessages(pending)
        pending = pending.subarray(used)
        for (const reply of replies) onReply(reply)
      } catch {
        finish(undefined)
      }
    })
    socket.write(opening(query, uid), "latin1")
  })
