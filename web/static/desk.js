// The desk's few behaviours: person/organisation switch, an ID-card reader that types like a
// keyboard, printing one part (联) of a notice. Rules live on the server; this only helps typing.
(function () {
  "use strict";

  function kindSwitch() {
    var radios = document.querySelectorAll('input[name="kind"]');
    function apply() {
      var chosen = document.querySelector('input[name="kind"]:checked');
      document.body.classList.toggle("kind-organisation", !!chosen && chosen.value === "organisation");
    }
    radios.forEach(function (r) { r.addEventListener("change", apply); });
    apply();
  }

  // A reader "types" 18 characters within a fraction of a second and ends with Enter. When that
  // burst lands in another field, move it into the ID field instead of submitting the form.
  function idCardReader() {
    var target = document.getElementById("id_number");
    if (!target) return;
    var burst = "", last = 0, startField = null;
    var ID = /\d{17}[\dXx]$/;
    document.addEventListener("keydown", function (event) {
      var now = Date.now();
      var field = document.activeElement;
      if (now - last > 80 || field !== startField) { burst = ""; startField = field; }
      last = now;
      if (event.key === "Enter") {
        var found = ID.exec(burst);
        if (found && startField !== target) {
          event.preventDefault();
          burst = found[0];
          if (startField && "value" in startField && startField.value.endsWith(burst)) {
            startField.value = startField.value.slice(0, -burst.length);  // take the number back out
          }
          var person = document.querySelector('input[name="kind"][value="person"]');
          if (person) { person.checked = true; person.dispatchEvent(new Event("change")); }
          target.value = burst.toUpperCase();
          target.dispatchEvent(new Event("change", { bubbles: true }));
          target.focus();
          burst = "";
        }
        return;
      }
      if (event.key && event.key.length === 1) burst += event.key;
    }, true);
  }

  function printParts() {
    var frame = document.getElementById("print-frame");
    document.querySelectorAll("button.print-part").forEach(function (button) {
      button.addEventListener("click", function () {
        frame.onload = function () {
          try { frame.contentWindow.focus(); frame.contentWindow.print(); } catch (e) { window.open(button.dataset.src); }
        };
        frame.src = button.dataset.src;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    kindSwitch();
    idCardReader();
    printParts();
  });
})();
