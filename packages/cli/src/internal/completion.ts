/**
 * Shell completion: the bash, zsh and fish scripts (`effect-auth --completions SHELL`), each a
 * thin function that asks the binary itself (`effect-auth __complete SHELL WORDS...`), which
 * knows the nested commands, their options, the choices of an option and the configured sites.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Spec from "./commandSpec.js"
import * as Help from "./help.js"
import * as Session from "./session.js"

/** The shells with a completion script. @internal */
export const shells = ["bash", "zsh", "fish"] as const

/** @internal */
export type Shell = typeof shells[number]

/** The word a completion script prints to ask its shell for file names. */
const filesDirective = ":files"

const bash = `# effect-auth completion for bash. Load it in ~/.bashrc:
#   source <(effect-auth --completions bash)
# or save it as ~/.local/share/bash-completion/completions/effect-auth
_effect_auth() {
  local IFS=$'\\n' line
  local -a lines
  lines=($(effect-auth __complete bash "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
  COMPREPLY=()
  for line in "\${lines[@]}"; do
    if [[ $line == "${filesDirective}" ]]; then
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}"))
      return 0
    fi
    COMPREPLY+=("$line")
  done
}
complete -F _effect_auth effect-auth
`

const zsh = `#compdef effect-auth
# effect-auth completion for zsh. Load it in ~/.zshrc (after compinit):
#   source <(effect-auth --completions zsh)
# or save it as _effect-auth in a directory of $fpath
_effect_auth() {
  local -a lines
  lines=("\${(@f)$(effect-auth __complete zsh "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ "\${lines[1]}" == "${filesDirective}" ]]; then
    _files
    return
  fi
  lines=(\${lines:#})
  (( \${#lines} )) && _describe -t values effect-auth lines
}
if [[ "\${funcstack[1]}" == "_effect_auth" ]]; then
  _effect_auth "$@"
else
  compdef _effect_auth effect-auth
fi
`

const fish = `# effect-auth completion for fish. Load it:
#   effect-auth --completions fish > ~/.config/fish/completions/effect-auth.fish
function __effect_auth_complete
    set -l words (commandline -opc) (commandline -ct)
    set -e words[1]
    set -l lines (effect-auth __complete fish $words 2>/dev/null)
    if test "$lines[1]" = "${filesDirective}"
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\\n' $lines
end
complete -c effect-auth -f -a '(__effect_auth_complete)'
`

/** The completion script of `shell`. @internal */
export const script = (shell: Shell): string => ({ bash, zsh, fish })[shell]

/** @internal */
export const isShell = (name: string): name is Shell => (shells as ReadonlyArray<string>).includes(name)

interface Candidate {
  readonly value: string
  readonly description: string
}

/** Options whose value is a site's name, and arguments that name a configured site. */
const siteOptions = new Set(["--at", "--new-default"])
const siteArgCommands = new Set(["show", "modify", "remove"])
const fileValues = new Set(["FILE", "PATH"])

type Want =
  | { readonly _tag: "Candidates"; readonly candidates: ReadonlyArray<Candidate> }
  | { readonly _tag: "Sites" }
  | { readonly _tag: "Files" }

const optionCandidates = (root: Spec.CommandSpec, current: Spec.CommandSpec): ReadonlyArray<Candidate> =>
  [...(current === root ? [] : current.options), ...root.options, ...Help.builtInOptions, ...(current === root ? Help.rootOnlyOptions : [])]
    .map((option) => ({ value: Spec.longName(option), description: option.description }))

/** What completes the last word of `words` (the words after `effect-auth`). @internal */
export const want = (root: Spec.CommandSpec, words: ReadonlyArray<string>): { readonly want: Want; readonly config: string | undefined } => {
  const before = words.slice(0, -1)
  const word = words[words.length - 1] ?? ""
  let current = root
  let config: string | undefined
  let positional = 0
  let pending: Spec.OptionSpec | undefined
  for (let i = 0; i < before.length; i++) {
    const arg = before[i]
    if (pending !== undefined) {
      if (Spec.longName(pending) === "--config") config = arg
      pending = undefined
      continue
    }
    if (arg === "--") return { want: { _tag: "Files" }, config }
    if (arg.startsWith("-")) {
      const option = Spec.option(current.options, arg) ?? Spec.option(root.options, arg) ??
        Spec.option(Help.rootOnlyOptions, arg)
      if (option?.value !== undefined) pending = option
      if (arg.startsWith("--config=")) config = arg.slice("--config=".length)
      continue
    }
    const child = current.children.find((c) => c.name === arg)
    if (child !== undefined && positional === 0) current = child
    else positional++
  }
  if (pending !== undefined) {
    const name = Spec.longName(pending)
    if (siteOptions.has(name)) return { want: { _tag: "Sites" }, config }
    if (pending.choices !== undefined) {
      return { want: { _tag: "Candidates", candidates: pending.choices.map((value) => ({ value, description: "" })) }, config }
    }
    return { want: fileValues.has(pending.value ?? "") ? { _tag: "Files" } : { _tag: "Candidates", candidates: [] }, config }
  }
  if (word.startsWith("-")) return { want: { _tag: "Candidates", candidates: optionCandidates(root, current) }, config }
  if (current.children.length > 0) {
    return {
      want: { _tag: "Candidates", candidates: current.children.map((c) => ({ value: c.name, description: c.description })) },
      config
    }
  }
  if (positional === 0 && siteArgCommands.has(current.name) && current.path[0] === "sites") return { want: { _tag: "Sites" }, config }
  return { want: { _tag: "Candidates", candidates: [] }, config }
}

const format = (shell: Shell, candidate: Candidate): string =>
  shell === "bash"
    ? candidate.value
    : shell === "zsh"
    ? `${candidate.value.replace(/:/g, "\\:")}${candidate.description === "" ? "" : `:${candidate.description}`}`
    : `${candidate.value}${candidate.description === "" ? "" : `\t${candidate.description}`}`

/** The configured sites' names; none when the configuration cannot be read. */
const siteNames = (config: string | undefined): Effect.Effect<ReadonlyArray<Candidate>> =>
  Session.loadConfig({ at: undefined, config, json: false, verbose: false }).pipe(
    Effect.map((loaded) => loaded.sites.map((site) => ({ value: site.name, description: `${site.provider} ${site.method}` }))),
    Effect.orElseSucceed(() => [])
  )

/** The lines `effect-auth __complete SHELL WORDS...` prints. @internal */
export const complete = (root: Spec.CommandSpec, shell: Shell, words: ReadonlyArray<string>): Effect.Effect<string> =>
  Effect.gen(function*() {
    const { config, want: wanted } = want(root, words)
    if (wanted._tag === "Files") return `${filesDirective}\n`
    const candidates = wanted._tag === "Sites" ? yield* siteNames(config) : wanted.candidates
    const word = words[words.length - 1] ?? ""
    const lines = candidates.filter((c) => c.value.startsWith(word)).map((c) => format(shell, c))
    return lines.length === 0 ? "" : `${lines.join("\n")}\n`
  })
