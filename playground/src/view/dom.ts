/** Attributes for {@link h} and {@link s}: strings, numbers, booleans (present/absent), or event handlers. */
export type Attributes = Readonly<
  Record<string, string | number | boolean | undefined | ((event: Event) => void)>
>;

/** A child of {@link h}: a node, some text, or nothing. */
export type Child = Node | string | undefined | null | false;

function assign(element: Element, attributes: Attributes, children: readonly Child[]): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child);
  }
}

/** Creates an HTML element: `h("button", { class: "primary", onclick }, "Run")`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  assign(element, attributes, children);
  return element;
}

const svgNamespace = "http://www.w3.org/2000/svg";

/** Creates an SVG element: `s("rect", { width: 10, height: 10 })`. */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(svgNamespace, tag);
  assign(element, attributes, children);
  return element;
}

/** Sets `text` only when it changed, so unchanged frames touch nothing. */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** Replaces the children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(
    ...children.filter(
      (child): child is Node | string => child !== undefined && child !== null && child !== false,
    ),
  );
}

/** Seconds with one decimal: `1.4 s`. */
export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

/** A time relative to `origin`, as the timeline shows it: `+1.234 s`, `+12 ms`. */
export function relativeTime(at: number, origin: number): string {
  const delta = at - origin;
  if (Math.abs(delta) < 1000) return `+${Math.round(delta)} ms`;
  if (Math.abs(delta) < 60_000) return `+${(delta / 1000).toFixed(3)} s`;
  const minutes = Math.floor(delta / 60_000);
  return `+${minutes} min ${((delta % 60_000) / 1000).toFixed(1)} s`;
}
