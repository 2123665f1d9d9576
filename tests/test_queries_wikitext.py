"""Wikitext as MediaWiki shows it: only the prose a reader sees yields tokens.

The snippets are written for these tests in the shapes real articles use (nested infoboxes,
citation templates inside references, tables inside templates, file captions holding links and
external links, behaviour switches); every word that must not count is a 'zz' marker, so one
assertion finds any leak.
"""

import pytest

from wit.queries.wikipedia import article_ngram_counts, drop_clitics, drop_templates_and_tables, strip_wikitext

ARTICLE = """\
{{Short description|Greek philosopher (384-322 BC)}}
{{Use dmy dates|date=March 2024}}
{{Infobox philosopher
| name = zzinfoboxname
| image = Zzportrait.jpg
| era = {{nowrap|zzera [[Ancient philosophy]]}}
| influences = {{flatlist|
* [[Plato]]
* {{hlist|zzhlist|zzhlist2}}
}}
| signature = {|
| zztableinsidetemplate
|}
}}
__NOTOC__
'''Aristotle''' ({{lang-grc|zzgreek}}; 384-322 BC) was an [[Ancient Greece|Ancient Greek]] philosopher.<ref name="zzrefname">{{cite book |last=Zzauthor |title=zzbooktitle |year=2001}}</ref> Aristotle's works cover physics and biology.<ref name="zzrefname" /><ref>zzplainref [https://example.org zzrefurl]</ref>
[[File:Zzbust.jpg|thumb|upright=1.2|Bust of [[Aristotle]] after [[Lysippos]], see [https://example.org/zzfilelink zzfilelinklabel]]]
[[Image:Zzother.png|left|zzimagecaption]]
== Early life ==
He didn't write it; he wasn't there and can't have been.<!-- zzcomment {{zzcommenttemplate}} -->
<span style="color:#zzcss">The Lyceum</span> was his school.<br />It stood<sup>{{efn|zznote}}</sup> in Athens.
{| class="wikitable sortable"
|+ zzcaption
! zzheader !! zzheader2
|-
| zzcell || {{zztemplateincell}}
|}
<math>\\zzformula x^2</math> and <chem>zzchem</chem>
<gallery>
Zzgallery.jpg|zzgallerycaption
</gallery>
{{DEFAULTSORT:Zzsortkey}}
== References ==
{{Reflist}}
<references>
<ref name="zzlistref">zzlistedref</ref>
</references>
[[Category:Zzcategory philosophers]]
[[de:Zzinterlanguage]]
"""

def test_only_the_prose_a_reader_sees_yields_tokens():
    unigrams, bigrams = article_ngram_counts(ARTICLE)
    leaked = sorted(token for token in unigrams if "zz" in token)
    assert leaked == []
    for markup_word in ("infobox", "cite", "ref", "thumb", "upright", "jpg", "png", "category", "wikitable", "class",
                        "notoc", "reflist", "defaultsort", "span", "style", "br", "sup", "math", "chem", "gallery", "name"):
        assert markup_word not in unigrams, markup_word
    assert {"aristotle", "philosopher", "lyceum", "athens", "biology", "ancient", "greek"} <= set(unigrams)
    assert "s" not in unigrams and "t" not in unigrams
    assert "aristotle s" not in bigrams and "aristotle works" in bigrams
    assert bigrams["ancient greek"] == 1 and bigrams["the lyceum"] == 1


def test_clitics_are_cut_not_split_into_lone_letters():
    assert drop_clitics("aristotle's works") == "aristotle works"
    assert drop_clitics("the king\u2019s men") == "the king men"
    assert drop_clitics("they're here, we've gone, i'll go, she'd say, i'm in") == "they here, we gone, i go, she say, i in"
    assert drop_clitics("don't, can't, won't, isn't") == "do not, can not, will not, is not"
    # Apostrophes that are part of a name or a plural possessive stay as they are.
    assert drop_clitics("o'neill, d'artagnan, the students' hall, 's-hertogenbosch") == "o'neill, d'artagnan, the students' hall, 's-hertogenbosch"
    unigrams, bigrams = article_ngram_counts("Aristotle's Lyceum. The Lyceum's garden. Plato\u2019s Academy.")
    assert "s" not in unigrams and unigrams["aristotle"] == 1 and unigrams["lyceum"] == 2
    assert set(bigrams) == {"aristotle lyceum", "the lyceum", "lyceum garden", "plato academy"}


def test_templates_and_tables_nest_in_each_other():
    text = "A {{outer|x={{inner|{|\n| zzcell\n|}\n}}|y=}} B\n{|\n| {{zz|a}} || zzc\n|-\n| zzd {{zz|{{zz}}}}\n|}\nC"
    assert drop_templates_and_tables(text).split() == ["A", "B", "C"]
    # A lone brace inside a template, and a template parameter ending in '|}}'.
    assert drop_templates_and_tables("x {{zz|a}b|c=}} y {{zz|}} z").split() == ["x", "y", "z"]
    # '{|' in the middle of a line is not a table; a stray '}}' is shown as typed (no tokens).
    assert drop_templates_and_tables("p {| q }} r").split() == ["p", "{|", "q", "}}", "r"]


def test_an_unclosed_template_drops_its_line_not_the_article():
    text = "Intro prose.\n{{Infobox zz\n| name = zz\nNext line prose.\n\nLast paragraph."
    prose = strip_wikitext(text)
    assert "zz" not in prose and "Next line prose." in prose
    assert "Intro prose." in prose and "Last paragraph." in prose
    unigrams, _ = article_ngram_counts(text)
    assert "infobox" not in unigrams and "intro" in unigrams and "last" in unigrams
    assert "name" not in unigrams  # '| name = zz' is a parameter line, never prose


@pytest.mark.parametrize(
    "wikitext, shown",
    [
        ("[[Plato|the teacher]] and [[Socrates]]", "the teacher and Socrates"),
        ("[[Wikipedia:Citation needed|citation needed]]", "citation needed"),
        ("[[wikt:polis|polis]] life", "polis life"),
        ("[[:Category:Greek philosophers|Greek philosophers]]", "Greek philosophers"),
        ("[[Category:Greek philosophers]] [[fr:Aristote]] [[simple:Aristotle]]", ""),
        ("[[cat]]s and [[dog]]", "cats and dog"),
        ("see [http://example.org the site] and [http://example.org/x]", "see the site and"),
        ("a&nbsp;b &amp; c", "a b & c"),  # str.split splits at the no-break space too
        ("''Nicomachean Ethics''", "Nicomachean Ethics"),
        ("__TOC__ text __NOEDITSECTION__", "text"),
        ("<blockquote>quoted</blockquote> and <poem>verse</poem>", "quoted and verse"),
        ("x<includeonly>zzhidden</includeonly>y", "x y"),
    ],
)
def test_link_and_inline_markup_as_mediawiki_shows_it(wikitext, shown):
    assert " ".join(strip_wikitext(wikitext).split()) == shown
