from branchops.cases.masking import mask_id_number, mask_name, mask_phone


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0755-8888") == "075**8888"
    assert mask_phone("12") == "12"
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***" and mask_name("李") == "李"
    assert mask_id_number("440301199001011234") == "4403**********1234"
    assert mask_id_number("") == ""
