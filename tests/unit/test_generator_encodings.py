"""POS files come in their system's encoding: GBK from the legacy franchise system, UTF-8 from mPOS."""


def _pos_files(generated, checked, system: str) -> dict[str, bytes]:
    """Content of the non-empty POS files of one store system (re-sends aside), by path."""
    out, _ = generated
    files = [f.file for f in checked.values() if f.feed == "pos_transactions" and f"_{system}_" in f.file]
    return {file: (out / file).read_bytes() for file in files if (out / file).stat().st_size}


def _decodes(content: bytes, encoding: str) -> bool:
    try:
        content.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def test_legacy_pos_files_with_chinese_text_are_gbk_and_not_utf8(generated, checked):
    with_chinese = {
        name: c for name, c in _pos_files(generated, checked, "legacy").items() if not c.isascii()
    }

    not_gbk = [name for name, c in with_chinese.items() if _decodes(c, "utf-8") or not _decodes(c, "gbk")]

    assert with_chinese
    assert not_gbk == []


def test_a_legacy_pos_file_without_chinese_text_is_one_cut_short_before_it(generated, checked, truth):
    truncated = {d["file"] for d in truth["defects"] if d["kind"] == "truncated_file"}

    ascii_only = {name for name, c in _pos_files(generated, checked, "legacy").items() if c.isascii()}

    assert ascii_only <= truncated


def test_mpos_files_are_utf8(generated, checked):
    mpos = _pos_files(generated, checked, "mpos")

    not_utf8 = [name for name, content in mpos.items() if not _decodes(content, "utf-8")]

    assert mpos
    assert not_utf8 == []


def test_product_names_read_from_gbk_match_the_products_reference(checked, clean_records):
    products = {record["product_name"] for _, record in clean_records["products"]}
    legacy = [f for f in checked.values() if f.feed == "pos_transactions" and "_legacy_" in f.file]

    printed = {record["product_name"] for f in legacy for record in f.clean_records()}

    assert printed
    assert printed <= products
