// Types of stats.mjs for the TypeScript benchmarks.
export interface Summary {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
}
export function percentile(values: readonly number[], p: number): number;
export function median(values: readonly number[]): number;
export function summarize(values: readonly number[]): Summary;
export function ms(x: number): string;
export function ratio(a: number, b: number): string;
export function formatTable(header: readonly (string | number)[], rows: readonly (readonly (string | number)[])[]): string;
