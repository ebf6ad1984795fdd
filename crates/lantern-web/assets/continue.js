// Sends a form marked `data-autosubmit` as soon as the page loads: the step of a sign-in that must pass through
// Lantern's own page (a SAML response posted by the identity provider's site carries no session cookie until
// Lantern's page posts it again). Without scripts, the form's button does the same.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-autosubmit]");
    if (form) form.submit();
  });
})();
