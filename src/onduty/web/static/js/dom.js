// Small DOM helpers: build elements, fill and order them, read fields, show messages.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

// h for SVG elements (their own namespace): every attribute, class too, is set as given.
export function svgEl(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

let toastTimer = null;
export function toast(message) {
  const el = $("#toast");
  if (!el) return;
  // An open modal dialog sits in the browser's top layer, its backdrop over the rest of
  // the page, which is inert meanwhile (not read out): the message goes inside the dialog
  // to be seen and heard, and back to the page when the dialog closes.
  const modal = topModal();
  const home = modal || document.body;
  if (el.parentElement !== home) {
    home.append(el);
    if (modal) modal.addEventListener("close", () => document.body.append(el), { once: true });
  }
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 5000);
}

// The modal dialog on top: the one holding the focus (the others are inert), else the last.
function topModal() {
  let open;
  try {
    open = document.querySelectorAll("dialog:modal");
  } catch {
    return null; // a browser without :modal: the message shows as before
  }
  if (!open.length) return null;
  const focused = document.activeElement && document.activeElement.closest("dialog:modal");
  return focused || open[open.length - 1];
}

export function initials(name) {
  return (name || "?")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0].toUpperCase())
    .join("");
}

// replaceChildren, leaving out the parts that are not there (null, undefined, false).
export function put(el, ...children) {
  el.replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
}

// A number field's text; "x" when the browser holds something that is no number (its
// value then reads "", as an empty field's does).
export function numberText(input) {
  return input.validity.badInput ? "x" : input.value.trim();
}

// Live regions announce every change of their text: change it only when it says something new.
export function say(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// Put `elements` under `parent` in this order, moving only what is out of place:
// moving a node would take the focus (and the caret) from a field inside it.
export function placeInOrder(parent, elements) {
  elements.forEach((el, i) => {
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] || null);
  });
}

// Where the focus goes when a button and its id have left the page: set by itemButton.
const nearby = new WeakMap();

// `el`, or, when a re-render replaced it, the element that now has its id; null if neither.
function found(el) {
  if (el.isConnected) return el;
  return el.id ? document.getElementById(el.id) : null;
}

// Gives the focus back to `el`, or, when a re-render replaced it, to the element that
// now has its id (a list drawn again while a dialog it opened was up); when its item left
// the list, near where it was (itemButton).
export function refocus(el) {
  if (!el) return;
  const target = found(el);
  if (target) target.focus();
  else nearby.get(el)?.();
}

function itemIndex(list, el) {
  return [...list.children].indexOf(el.closest("li"));
}

// Where the focus was in `list` before it is drawn again: the focused element and the
// index of its item, for keepFocus.
export function focusIn(list) {
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  return { focused, at: focused ? itemIndex(list, focused) : -1 };
}

// A keyboard user stays on their button after `list` is drawn again, or near it when its
// item left the list meanwhile (focusNear).
export function keepFocus(list, { focused, at }, fallback) {
  if (!focused) return;
  const target = found(focused);
  if (target) target.focus();
  else focusNear(list, focused.dataset.kind, at, fallback);
}

// When a button's item left `list` (closed, assigned, transferred): the same kind of button
// on the item now in its place (or on the last), else `fallback`, never the page's top.
function focusNear(list, kind, at, fallback) {
  const items = list.children;
  const near = items[Math.min(at, items.length - 1)];
  const same = near && kind ? near.querySelector(`button[data-kind="${kind}"]`) : null;
  (same || fallback).focus();
}

// A button on an item of `list` that opens a dialog, `onClick(button)`; the dialog gives
// the focus back with refocus(button), which finds it after a redraw of the list by its
// `id`, or places the focus near it (focusNear) when its item has left the list meanwhile.
export function itemButton({ list, fallback, id, kind, onClick }, ...children) {
  const onclick = (e) => {
    const button = e.currentTarget;
    const at = itemIndex(list, button);
    nearby.set(button, () => focusNear(list, kind, at, fallback));
    onClick(button);
  };
  return h("button", { type: "button", class: kind, id, dataset: { kind }, onclick }, ...children);
}
