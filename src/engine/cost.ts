/**
 * The cost a caller gives a check or refund, refused unless it is a finite number ≥ 0:
 * a negative cost would credit the counter (a cost of −1000 once let 1,005 through a
 * 5/1m rule), NaN fits nowhere and compares false with everything, and Infinity can
 * never be charged. Zero is a question ("would one more fit?") and fractions are
 * weights, both allowed.
 */
export function checkedCost(cost: number | undefined, where: 'check' | 'checkSync' | 'refund'): number | undefined {
  if (cost === undefined) return undefined;
  if (typeof cost !== 'number') throw new TypeError(`${where}: cost must be a number (got ${typeof cost} ${JSON.stringify(cost)})`);
  if (!(cost >= 0) || cost === Infinity) throw new RangeError(`${where}: cost must be a finite number ≥ 0 (got ${cost})`);
  return cost;
}
