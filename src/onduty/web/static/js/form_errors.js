// Errors beside the fields they are about: every invalid field at once, in words.
//
// A form (or a table row) holds, for each field, an element `[data-error-for="<name>"]`
// beside the input named <name>; `[data-error-for=""]` takes what names no field. Problems
// come from the page's own checks and from the API (`errors: [{field, message}]`).
import { toast } from "./dom.js";

let lastId = 0;

export function clearErrors(root) {
  for (const slot of root.querySelectorAll("[data-error-for]")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const input of root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// The API's problems of a failed call: its list, or its one error.
export function problemsOf(failure) {
  if (Array.isArray(failure.errors) && failure.errors.length) return failure.errors;
  return [{ field: failure.field || null, message: failure.message }];
}

// Shows every problem beside its field (what names no field, in the form's general slot, an
// alert), marks the fields invalid (aria-invalid, with the message in their
// aria-describedby) and moves the focus to the first one. `labels` names
// the fields as the page does, so that "label must not be empty" reads "Label must not be empty".
export function showErrors(root, problems, labels = {}) {
  clearErrors(root);
  const said = new Map(); // slot -> messages
  let first = null;
  for (const { field, message } of problems) {
    const input = field ? root.querySelector(`[name="${CSS.escape(field)}"]`) : null;
    let slot = field ? root.querySelector(`[data-error-for="${CSS.escape(field)}"]`) : null;
    if (!slot) slot = root.querySelector('[data-error-for=""]');
    const text = inWords(field, message, labels);
    if (!slot) {
      toast(text);
      continue;
    }
    said.set(slot, [...(said.get(slot) || []), text]);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      describeBy(input, slot);
      first = first || input;
    }
  }
  for (const [slot, messages] of said) {
    slot.textContent = messages.join(" ");
    slot.hidden = false;
  }
  if (first) first.focus();
}

function describeBy(input, slot) {
  if (!slot.id) slot.id = `field-error-${++lastId}`;
  const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  if (!ids.includes(slot.id)) input.setAttribute("aria-describedby", [...ids, slot.id].join(" "));
}

// The API names fields as it spells them ("response_timeout must be …"): the page says its label.
function inWords(field, message, labels) {
  let text = String(message || "");
  if (field && labels[field] && text.startsWith(`${field} `)) text = labels[field] + text.slice(field.length);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
