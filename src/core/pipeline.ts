// A typed list of steps: each step added must read only what the pipeline's initial values
// and the steps before it produce, and the compiler checks that. The values grow as steps
// are added (`then`); an optional step's output is optional from then on (`when`).
import {
  runChain,
  when,
  type AnyStep,
  type RunOptions,
  type Step,
  type StepContext,
  type StepErrorChoice,
} from "./runner.js";

/** What a step adds to the values: its output, or nothing. */
type Produced<Out> = Out extends object ? Out : unknown;

/** Steps in order, with `Values` the type of what the next step may read. */
export class Pipeline<Values extends object, C extends StepContext = StepContext> {
  private constructor(readonly steps: readonly AnyStep<C>[]) {}

  /** An empty pipeline: its first step reads nothing but its context. */
  static start<C extends StepContext = StepContext>(): Pipeline<object, C> {
    return new Pipeline<object, C>([]);
  }

  /** Adds a step; it may read any of the values so far. */
  then<Out>(step: Step<Values, Out, C>): Pipeline<Values & Produced<Out>, C> {
    return new Pipeline([...this.steps, step]);
  }

  /**
   * Adds a step, or a group of steps, only when the condition holds; what it produces is
   * optional for the steps after it.
   */
  when<Out>(condition: boolean, step: Step<Values, Out, C>): Pipeline<Values & Partial<Produced<Out>>, C>;
  when<Next extends Values>(
    condition: boolean,
    group: (pipeline: Pipeline<Values, C>) => Pipeline<Next, C>,
  ): Pipeline<Values & Partial<Next>, C>;
  when<Out, Next extends Values>(
    condition: boolean,
    stepOrGroup: Step<Values, Out, C> | ((pipeline: Pipeline<Values, C>) => Pipeline<Next, C>),
  ): Pipeline<Values & Partial<Produced<Out>>, C> | Pipeline<Values & Partial<Next>, C> {
    if (typeof stepOrGroup !== "function") return new Pipeline([...this.steps, ...when(condition, stepOrGroup)]);
    return new Pipeline([...this.steps, ...(condition ? stepOrGroup(new Pipeline<Values, C>([])).steps : [])]);
  }

  /** Runs the steps (runSteps' contract) and resolves with every value they produced. */
  async run(ctx: C, options: RunOptions = {}): Promise<{ values: Values; choice: StepErrorChoice | undefined }> {
    const { output, choice } = await runChain(this.steps, {}, ctx, options);
    // Each step's output type was checked when it was added; the merged record is their sum.
    return { values: output as Values, choice };
  }
}
