// Markdown preview for the incident form: each Markdown field gets a "Preview" button that asks
// the server to render the text with the same renderer and sanitiser as the public pages.
// Without this script the form works as before.
(function () {
  "use strict";
  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function addPreview(textarea) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button markdown-preview-toggle";
    button.textContent = "Preview";
    var output = document.createElement("div");
    output.className = "markdown-preview";
    output.hidden = true;
    output.setAttribute("aria-live", "polite");
    button.addEventListener("click", function () {
      var body = new URLSearchParams();
      body.append("text", textarea.value);
      fetch(textarea.dataset.previewUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(textarea.form) },
        body: body,
        credentials: "same-origin",
      })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          // The server returns HTML already sanitised by the public pages' allowlist.
          output.innerHTML = data.errors && data.errors.length
            ? "<p class='errornote'></p>" : data.html || "<p><em>Nothing to show.</em></p>";
          if (data.errors && data.errors.length) {
            output.querySelector("p").textContent = data.errors.join(" ");
          }
          output.hidden = false;
        })
        .catch(function () {
          output.textContent = "The preview could not be loaded; the text is unchanged.";
          output.hidden = false;
        });
    });
    textarea.after(button, output);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-preview-url]").forEach(addPreview);
  });
})();
