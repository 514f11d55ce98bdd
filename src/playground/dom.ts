/// <reference lib="dom" />
/**
 * Small DOM helpers shared by the playground's tabs: finding elements and reading form fields as numbers.
 *
 * @module
 */

/** The element with `id`; an error naming it when the page lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no element #${id}`);
  return element as T;
}

/** The value of the `<input>` or `<select>` `#id`. */
export function fieldValue(id: string): string {
  return byId<HTMLInputElement | HTMLSelectElement>(id).value.trim();
}

/**
 * The number in field `#id`, or undefined when it is empty. A value that is not a number is an error naming the
 * field's label, so the reader knows which to fix.
 */
export function optionalNumber(id: string): number | undefined {
  const text = fieldValue(id);
  if (text === "") return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) {
    const label = document.querySelector(`label:has(#${id})`)?.textContent?.trim() ?? id;
    throw new Error(`${label}: expected a number, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** The number in field `#id`; an error naming the field when it is empty or not a number. */
export function requiredNumber(id: string): number {
  const value = optionalNumber(id);
  if (value === undefined) {
    const label = document.querySelector(`label:has(#${id})`)?.textContent?.trim() ?? id;
    throw new Error(`${label}: enter a number`);
  }
  return value;
}

/** Whether the checkbox `#id` is ticked. */
export function checked(id: string): boolean {
  return byId<HTMLInputElement>(id).checked;
}

/** Lets the browser paint before the next step of a long computation. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
