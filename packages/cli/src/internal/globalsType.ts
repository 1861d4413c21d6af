/** @internal */
export interface Globals {
  readonly at: string | undefined
  readonly config: string | undefined
  readonly json: boolean
  readonly verbose: boolean
}
