export interface Summary { n: number; median: number; p90: number; min: number; max: number }
export function percentile(values: number[], p: number): number;
export function median(values: number[]): number;
export function summarize(values: number[]): Summary;
export function ms(x: number): string;
export function ratio(a: number, b: number): string;
export function formatTable(header: string[], rows: (string | number)[][]): string;
