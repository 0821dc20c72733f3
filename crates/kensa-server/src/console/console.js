// Light progressive enhancement; every page works without it.
document.addEventListener("DOMContentLoaded", function () {
  // "Select all" for the bulk change's check boxes.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.pick").forEach(function (c) { c.checked = all.checked; });
    });
  }
});
