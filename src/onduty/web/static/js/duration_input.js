// A length of time typed as people think of it, a number and a unit ("90" "minutes"), and
// read in seconds, as the API takes it. Beside it, how it reads ("= 1 h 30 min"), or "off".
import { h } from "./dom.js";
import { UNITS, durationPart, humanDuration, pluralWord } from "./format.js";

const SECONDS = Object.fromEntries(UNITS.map((unit) => [unit.name, unit.seconds]));

export class DurationInput {
  // `unit`: the one shown for 0 (and until a value comes); `units`: the ones offered (names
  // of UNITS, all by default); `offWhenZero`: 0 turns the rule off; `ariaLabel`: the number's
  // name when no <label> names it (in a table row).
  constructor({ id, name, label, unit = "second", units = null, offWhenZero = false, describedBy = "", ariaLabel = null }) {
    this.fallbackUnit = unit;
    this.offWhenZero = offWhenZero;
    this.units = UNITS.filter((u) => !units || units.includes(u.name));
    this.number = h("input", {
      id,
      name,
      type: "number",
      min: 0,
      step: "any",
      inputmode: "decimal",
      "aria-label": ariaLabel,
      "aria-describedby": describedBy,
    });
    this.unit = h(
      "select",
      { name: `${name}-unit`, "aria-label": `${label}: unit`, "aria-describedby": describedBy },
      this.units.map((u) => h("option", { value: u.name }, `${u.name}s`)),
    );
    this.unit.value = unit;
    this.reading = h("p", { class: "hint reading", id: id ? `${id}-human` : null });
    this.element = h("div", { class: "duration" }, this.number, this.unit);
    this.number.addEventListener("input", () => this.updated());
    this.unit.addEventListener("change", () => this.updated());
  }

  // What is typed, in seconds: a number, null when empty, NaN when it is no number.
  seconds() {
    if (this.number.validity.badInput) return NaN;
    const text = this.number.value.trim();
    if (text === "") return null;
    const n = Number(text);
    // To the millisecond: 0.1 minutes is 6 seconds, not 6.000000000000001.
    return Number.isFinite(n) ? Math.round(n * SECONDS[this.unit.value] * 1000) / 1000 : NaN;
  }

  // Shows `seconds` in the longest unit that says it in whole numbers: 5400 -> 90 minutes.
  // null (no value: no limit, say) empties it.
  set(seconds) {
    if (seconds === null || seconds === undefined) {
      this.number.value = "";
      this.unit.value = this.fallbackUnit;
      this.updated();
      return;
    }
    const value = Number(seconds);
    const fits = this.units.find((u) => value % u.seconds === 0) || this.units.at(-1);
    const unit = value === 0 ? this.fallbackUnit : fits.name;
    this.number.value = String(value / SECONDS[unit]);
    this.unit.value = unit;
    this.updated();
  }

  // The unit's name agrees with the number ("1 minute", "5 minutes"); the reading says the
  // whole length when another unit says it better ("90 minutes" = 1 h 30 min).
  updated() {
    const n = Number(this.number.value);
    for (const option of this.unit.options) option.textContent = pluralWord(n, option.value);
    const seconds = this.seconds();
    let text = "";
    if (seconds === 0 && this.offWhenZero) text = "Off";
    else if (Number.isFinite(seconds) && seconds > 0) {
      const said = humanDuration(seconds);
      if (said !== durationPart(n, this.unit.value)) text = `= ${said}`;
    }
    this.reading.textContent = text;
  }
}
