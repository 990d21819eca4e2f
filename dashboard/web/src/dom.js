// Building the page's elements: text always goes in as text (textContent), never as HTML.

/** `el("td", {class: "num"}, "12")`: attributes as attributes, children as nodes or text. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `node` with `children` (text or nodes). */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Show (or, with null, hide) the error line of a panel. */
export function panelError(panel, message) {
  const line = panel.querySelector(".panel-error");
  if (!line) return;
  line.hidden = !message;
  line.textContent = message || "";
}
