// Starts ReDoc on /redoc. A file, not an inline script: the CSP allows scripts from this origin only.
//
// ReDoc styles itself by inserting <style> elements, which /redoc's own policy allows only with the
// nonce the page carries (data-style-nonce, fresh for each response). styled-components takes it from
// ReDoc's `nonce` option, but the bundle also inserts perfect-scrollbar's CSS while it loads, before
// any option is read; so this file is loaded before the bundle and gives the nonce to every <style>
// element a script creates. That grants nothing new: only scripts from this origin run here, and
// they can read the nonce anyway. <style> elements or style attributes in markup stay blocked.
(function () {
  "use strict";
  var root = document.getElementById("redoc");
  var nonce = root.dataset.styleNonce;
  var createElement = document.createElement;
  document.createElement = function (tagName) {
    var element = createElement.apply(this, arguments);
    if (String(tagName).toLowerCase() === "style") {
      element.nonce = nonce;
    }
    return element;
  };
  document.addEventListener("DOMContentLoaded", function () {
    Redoc.init(root.dataset.openapiUrl, { nonce: nonce }, root);
  });
})();
