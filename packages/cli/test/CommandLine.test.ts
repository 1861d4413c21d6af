/**
 * The command line as a user meets it, through the bundled binary: help, usage errors,
 * completions in bash, zsh and fish, `--at` for one site, the sites table, a config path that is
 * a directory. Nothing here needs a server: the commands read the configuration only.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Cli from "./support/cli.js"

const config = `default_site = "emu"

[sites.emu]
provider = "anaplan"
email = "someone@example.com"
storage = "file"

[sites.longer-name]
provider = "anaplan"
method = "certificate"
certificate = "cert.pem"
private_key = "key.pem"
storage = "file"
`

const setup = Effect.gen(function*() {
  const home = yield* Cli.home
  Cli.writeConfig(home, config)
  const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    Cli.run(args, { env: { ...home.env, ...env } })
  return { home, run }
})

/** Every command path of the tree, as `effect-auth --help` and `effect-auth sites --help` list them. */
const commands = [
  [],
  ["login"],
  ["logout"],
  ["token"],
  ["whoami"],
  ["status"],
  ["exec"],
  ["sites"],
  ["sites", "list"],
  ["sites", "show"],
  ["sites", "add"],
  ["sites", "modify"],
  ["sites", "remove"]
]

/** The lines of a section (`OPTIONS`) of a help text. */
const section = (help: string, title: string): Array<string> => {
  const lines = help.split("\n")
  const start = lines.indexOf(title)
  if (start === -1) return []
  const end = lines.findIndex((line, i) => i > start && line === "")
  return lines.slice(start + 1, end === -1 ? undefined : end)
}

describe("command line", { timeout: 90_000 }, () => {
  it.scopedLive("help: every option and argument described, 80 columns, `$ effect-auth CMD` usage, global options", () =>
    Effect.gen(function*() {
      const { run } = yield* setup
      for (const path of commands) {
        const out = yield* run([...path, "--help"])
        const what = `effect-auth ${path.join(" ")} --help`
        assert.strictEqual(out.code, 0, what)
        assert.strictEqual(out.stderr, "", what)
        const help = out.stdout
        assert.notInclude(help, "A user-defined piece of text", what)
        assert.notInclude(help, "\u001b", `${what}: no ANSI escapes when stdout is not a terminal`)
        assert.notInclude(help, "--wizard", what)
        assert.notInclude(help, "--log-level", what)
        for (const line of help.split("\n")) assert.isAtMost(line.length, 80, `${what}: ${line}`)
        assert.strictEqual(section(help, "USAGE")[0].trim().split(" ").slice(0, path.length + 1).join(" "), ["effect-auth", ...path].join(" "), what)
        const options = [...section(help, "OPTIONS"), ...section(help, "GLOBAL OPTIONS"), ...section(help, "ARGUMENTS")]
        assert.isAbove(options.length, 0, what)
        options.forEach((line, i) => {
          // A term alone on its line has its description on the next, indented further.
          if (/^ {2}\S+(, \S+)?( [A-Z_.]+)?$/.test(line)) assert.match(options[i + 1] ?? "", /^ {4,}\S/, `${what}: ${line} has no description`)
        })
        if (path.length > 0) {
          for (const global of ["--at NAME", "--config FILE", "--json", "--verbose", "--help"]) {
            assert.include(section(help, "GLOBAL OPTIONS").join("\n"), global, what)
          }
        }
      }
      const root = (yield* run(["--help"])).stdout
      for (const command of ["login", "logout", "token", "whoami", "status", "exec", "sites"]) {
        assert.match(section(root, "COMMANDS").join("\n"), new RegExp(`^ {2}${command} +\\S`, "m"))
      }
      assert.match(root, /--completions SHELL +Print the shell completion script/)
      // Without a command: the help, as gh does.
      const bare = yield* run([])
      assert.strictEqual(bare.code, 0)
      assert.strictEqual(bare.stdout, root)
      assert.strictEqual((yield* run(["sites"])).stdout, (yield* run(["sites", "--help"])).stdout)
    }))

  it.scopedLive.skipIf(!Cli.runTerminalTests)("help on a terminal: its width, bold headings, none with NO_COLOR", () =>
    Effect.gen(function*() {
      const { home } = yield* setup
      const wide = yield* Cli.terminal(["sites", "add", "--help"], { env: home.env, width: 120 })
      assert.strictEqual(yield* wide.exitCode(), 0)
      const lines = (yield* wide.screen).split("\n")
      assert.isAbove(Math.max(...lines.map((l) => l.length)), 80, "lines use the terminal's width")
      assert.isAtMost(Math.max(...lines.map((l) => l.trimEnd().length)), 120)
      assert.match(yield* wide.styledScreen, /\u001b\[1mUSAGE/)
      const plain = yield* Cli.terminal(["sites", "add", "--help"], { env: { ...home.env, NO_COLOR: "1" }, width: 120 })
      assert.strictEqual(yield* plain.exitCode(), 0)
      const styled = yield* plain.styledScreen
      assert.include(styled, "USAGE")
      assert.notMatch(styled, /\u001b\[1m/)
    }), 120_000)

  it.scopedLive("usage errors: `error:` and `hint:` with the nearest command or option, exit 2", () =>
    Effect.gen(function*() {
      const { run } = yield* setup
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp, RegExp]> = [
        [["lgin"], /unknown command "lgin" for `effect-auth`/, /Did you mean `effect-auth login`\?/],
        [["sites", "lst"], /unknown command "lst" for `effect-auth sites`/, /`effect-auth sites list`/],
        [["frobnicate"], /unknown command "frobnicate"/, /login, logout, token, whoami, status, exec, sites/],
        [["login", "--emial", "x@y.z"], /unknown option --emial for `effect-auth login`/, /Did you mean --email\?/],
        [["token", "--bogus"], /unknown option --bogus for `effect-auth token`/, /effect-auth token --help/],
        [["--at"], /option --at needs a value/, /--at NAME/],
        [["status", "--at"], /option --at needs a value/, /--at NAME/],
        [["login", "--method", "basik"], /"basik" is not a valid value for --method/, /Did you mean basic\?/],
        [["sites", "add"], /`effect-auth sites add` needs NAME/, /effect-auth sites add NAME/],
        [["sites", "remove", "a", "b"], /unexpected argument "b"/, /effect-auth sites remove --help/],
        [["--completions", "sh"], /"sh" is not a valid value for --completions/, /bash, zsh, fish/]
      ]
      for (const [args, error, hint] of cases) {
        const out = yield* run(args)
        const what = args.join(" ")
        assert.strictEqual(out.code, 2, `${what}: ${out.stderr}`)
        assert.strictEqual(out.stdout, "", what)
        const [first, second, ...rest] = out.stderr.trimEnd().split("\n")
        assert.match(first, /^error: /, what)
        assert.match(first, error, what)
        assert.match(second ?? "", /^hint: /, what)
        assert.match(second ?? "", hint, what)
        assert.deepStrictEqual(rest, [], what)
      }
    }))

  it.scopedLive("status --at NAME shows one site; an unknown one is an error naming the configured sites", () =>
    Effect.gen(function*() {
      const { run } = yield* setup
      const unknown = yield* run(["status", "--at", "NOSUCH"])
      assert.strictEqual(unknown.code, 1)
      assert.strictEqual(unknown.stdout, "")
      assert.match(unknown.stderr, /^error: .*"NOSUCH".*\nhint: .*emu, longer-name/)
      const one = yield* run(["status", "--at", "longer-name", "--json"])
      const body = JSON.parse(one.stdout) as { sites: ReadonlyArray<{ site: string }> }
      assert.deepStrictEqual(body.sites.map((s) => s.site), ["longer-name"])
    }))

  it.scopedLive("sites list aligns its columns; sites show NOSUCH names the sites without blaming --at", () =>
    Effect.gen(function*() {
      const { run } = yield* setup
      const list = yield* run(["sites", "list"])
      assert.strictEqual(list.code, 0)
      const rows = list.stdout.trimEnd().split("\n")
      assert.deepStrictEqual(rows.map((r) => r.slice(0, 2)), ["  ", "* ", "  "])
      const starts = (word: string) => rows.map((row) => row.indexOf(word))
      assert.strictEqual(new Set([starts("PROVIDER")[0], ...rows.slice(1).map((r) => r.indexOf("anaplan"))]).size, 1, list.stdout)
      assert.strictEqual(rows[0].indexOf("METHOD"), rows[1].indexOf("basic"), list.stdout)
      assert.strictEqual(rows[0].indexOf("METHOD"), rows[2].indexOf("certificate"), list.stdout)
      const show = yield* run(["sites", "show", "NOSUCH"])
      assert.strictEqual(show.code, 1)
      assert.notInclude(show.stderr, "--at")
      assert.match(show.stderr, /^error: There is no site named "NOSUCH".*emu, longer-name\nhint: /)
    }))

  it.scopedLive("a config path that is a directory: the error says so, for reading and for writing", () =>
    Effect.gen(function*() {
      const { home, run } = yield* setup
      const dir = Path.dirname(home.config)
      for (const args of [["status"], ["token"], ["sites", "add", "x", "--provider", "anaplan", "--yes"]]) {
        const out = yield* run(["--config", dir, ...args])
        assert.strictEqual(out.code, 1, args.join(" "))
        assert.match(out.stderr, /^error: The configuration path .* is a directory, not a file\nhint: .*config\.toml/, args.join(" "))
        assert.notInclude(out.stderr, "permission")
      }
      assert.strictEqual(Fs.readFileSync(home.config, "utf8"), config, "nothing written")
    }))

  describe("completions", () => {
    const completing = Effect.gen(function*() {
      const { home } = yield* setup
      const bin = yield* Cli.binDir(home)
      const env = { ...home.env, PATH: `${bin}:${home.env.PATH}` }
      return { home, env }
    })

    it.scopedLive("bash (with bash-completion): nested commands, options, choices, site names after --at", () =>
      Effect.gen(function*() {
        const { env } = yield* completing
        // What bash does on TAB: COMP_WORDS and COMP_CWORD set, the completion function called.
        const complete = (line: string) =>
          Cli.runProgram("bash", [
            "-c",
            `source /usr/share/bash-completion/bash_completion
source <(effect-auth --completions bash)
read -ra COMP_WORDS <<< "$1"
[[ $1 == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
COMP_LINE=$1
COMP_POINT=\${#1}
"$(complete -p effect-auth | sed -E 's/.*-F ([^ ]+) .*/\\1/')" effect-auth
printf '%s\\n' "\${COMPREPLY[@]}"`,
            "bash",
            line
          ], { env })
        const cases: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
          ["effect-auth ", ["login", "logout", "token", "whoami", "status", "exec", "sites"]],
          ["effect-auth lo", ["login", "logout"]],
          ["effect-auth sites ", ["list", "show", "add", "modify", "remove"]],
          ["effect-auth sites mo", ["modify"]],
          ["effect-auth login --me", ["--method"]],
          ["effect-auth login --method c", ["certificate", "client_credentials"]],
          ["effect-auth --at ", ["emu", "longer-name"]],
          ["effect-auth status --at l", ["longer-name"]],
          ["effect-auth sites show ", ["emu", "longer-name"]],
          ["effect-auth sites add x --pro", ["--provider"]]
        ]
        for (const [line, expected] of cases) {
          const out = yield* complete(line)
          assert.strictEqual(out.code, 0, `${line}: ${out.stderr}`)
          assert.deepStrictEqual(out.stdout.split("\n").filter((l) => l !== ""), expected, line)
        }
      }))

    it.scopedLive("fish: complete -C offers commands, options with descriptions, and sites", () =>
      Effect.gen(function*() {
        const { env } = yield* completing
        const complete = (line: string) =>
          Cli.runProgram("fish", ["--no-config", "-c", `effect-auth --completions fish | source; complete -C '${line}'`], { env })
        const sites = yield* complete("effect-auth sites ")
        assert.deepStrictEqual(sites.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]).sort(), [
          "add",
          "list",
          "modify",
          "remove",
          "show"
        ])
        assert.match(sites.stdout, /^list\tList the configured sites/m)
        assert.match((yield* complete("effect-auth login --me")).stdout, /^--method\tHow to log in/m)
        assert.deepStrictEqual(
          (yield* complete("effect-auth --at ")).stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]),
          ["emu", "longer-name"]
        )
      }))

    it.scopedLive.skipIf(!Cli.runTerminalTests)("zsh (compinit, on a terminal): TAB lists subcommands, options and sites", () =>
      Effect.gen(function*() {
        const { env } = yield* completing
        const zsh = yield* Cli.session("zsh -f", { env, width: 120 })
        yield* zsh.type("autoload -U compinit && compinit -u && source <(effect-auth --completions zsh) && echo READY", { enter: true })
        yield* zsh.waitFor(/^READY$/m)
        yield* zsh.type("effect-auth sites ")
        yield* zsh.press("Tab")
        const listed = yield* zsh.waitFor(/modify\s+-- Change or --unset/)
        assert.match(listed, /list\s+-- List the configured sites/)
        yield* zsh.press("C-u")
        yield* zsh.type("effect-auth login --me")
        yield* zsh.press("Tab")
        yield* zsh.waitFor(/effect-auth login --method $/m)
        yield* zsh.press("C-u")
        yield* zsh.type("effect-auth --at lo")
        yield* zsh.press("Tab")
        yield* zsh.waitFor(/effect-auth --at longer-name $/m)
      }), 120_000)
  })
})
