document.addEventListener('click', function (event) {
  var link = event.target.closest ? event.target.closest('a[href^="#src-"]') : null;
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  var card = document.getElementById(link.getAttribute('href').slice(1));
  if (!card) return;
  // an earlier turn's cards are folded under its question: unfold them first
  for (var box = card.parentElement; box; box = box.parentElement) {
    if (box.tagName === 'DETAILS') box.open = true;
  }
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
  card.classList.add('src-flash');
  setTimeout(function () { card.classList.remove('src-flash'); }, 1600);
}, true);
